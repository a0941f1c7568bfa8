package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// APIError is an error answered to the client as
// {"error": Msg, "field": Field} with status Code.
type APIError struct {
	Code       int
	Msg        string
	Field      string
	RetryAfter string // seconds; set for 429 and 503
}

// Error returns the message.
func (e *APIError) Error() string { return e.Msg }

func badRequest(field, msg string) *APIError {
	return &APIError{Code: fiber.StatusBadRequest, Field: field, Msg: msg}
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// errorHandler is the one place errors become responses. Client errors
// (4xx) are not logged; 5xx are, with the request id.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var apiErr *APIError
	var fe *fiber.Error
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &fe):
		apiErr = &APIError{Code: fe.Code, Msg: fiberMessage(fe)}
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			apiErr.Field = "body"
		}
	default:
		apiErr = &APIError{Code: fiber.StatusInternalServerError, Msg: "internal error"}
	}
	if apiErr.Code >= 500 {
		s.log.Error("request failed", "status", apiErr.Code, "method", c.Method(), "path", c.Path(),
			"request_id", c.GetRespHeader(fiber.HeaderXRequestID), "err", err)
	}
	if apiErr.RetryAfter != "" {
		c.Set(fiber.HeaderRetryAfter, apiErr.RetryAfter)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(apiErr.Code).JSON(errorBody{Error: apiErr.Msg, Field: apiErr.Field})
}

// fiberMessage gives framework errors (body too large, unknown route,
// timeouts) a message that says what is expected.
func fiberMessage(fe *fiber.Error) string {
	switch fe.Code {
	case fiber.StatusRequestEntityTooLarge:
		return "request body too large"
	case fiber.StatusNotFound:
		return "no such route"
	case fiber.StatusMethodNotAllowed:
		return "method not allowed"
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return "request headers too large"
	case fiber.StatusRequestTimeout:
		return "request not received in time"
	}
	return fe.Message
}
