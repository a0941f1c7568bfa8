package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/consentd/consentd/server/export"
	"github.com/consentd/consentd/server/ledger"
)

// exportPageTimeout bounds one XRANGE page of an export.
const exportPageTimeout = 10 * time.Second

// errExportIncomplete ends an export's body when Redis fails part-way.
var errExportIncomplete = errors.New("export incomplete")

// exportConsents serves GET /v1/sites/{site}/consents: the site's consent
// log as CSV or NDJSON (export.ParseQuery), streamed page by page.
//
// The first page is read before anything is sent, so a Redis that does
// not answer is a clean 503. Once the 200 has gone out, a failure can
// only be shown by how the body ends: NDJSON gets a last line
// {"error":"…"}, and for both formats the chunked body is cut off
// without its terminating chunk and the connection is closed, so no
// client takes the file for complete (curl exits 18, Go's client returns
// io.ErrUnexpectedEOF, a browser marks the download failed).
//
// fasthttp's SetBodyStreamWriter cannot do that: when its writer returns,
// for whatever reason, the body is ended as complete. So the body is an
// io.Reader (SetBodyStream with size -1, chunked) that reads a page
// whenever the previous one has been sent, and returns an error instead
// of io.EOF when the export failed; fasthttp then drops the connection.
func (s *Server) exportConsents(c *fiber.Ctx) error {
	e, ok := s.site(c.Params("site"))
	if !ok {
		return &APIError{Code: fiber.StatusNotFound, Field: "site", Msg: "unknown site"}
	}
	site := e.site
	q, err := export.ParseQuery(site, queryValues(c.Request().URI().QueryArgs().String()), time.Now())
	var pe *export.ParamError
	if errors.As(err, &pe) {
		return badRequest(pe.Param, pe.Msg)
	}
	if err != nil {
		return err
	}
	headers := func() {
		c.Set(fiber.HeaderContentType, export.ContentType(q.Format))
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+export.Filename(site, q)+`"`)
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	if c.Method() == fiber.MethodHead {
		headers()
		return nil
	}

	// The shared client: each page is one XRANGE, which holds a pooled
	// connection only while it runs.
	rdb := s.rdb
	body := &exportBody{
		rdb: rdb, site: site.ID, format: q.Format, start: time.Now(), log: s.log,
		conn: c.Context().Conn(), writeTimeout: c.App().Config().WriteTimeout,
	}
	var out io.Writer = &body.buf
	if q.Format == export.Proof {
		// Checkpoints before records: every checkpoint is then covered by
		// the records exported.
		ctx, cancel := context.WithTimeout(c.UserContext(), exportPageTimeout)
		cps, err := s.proofs.Checkpoints(ctx, site.ID)
		cancel()
		if err == nil {
			body.bundle, err = export.NewBundle(&body.buf, site.ID, s.proofs.PublicKeys(), cps)
		}
		if err != nil {
			return s.storeError(site.ID, err)
		}
		out = body.bundle.Records()
	}
	body.exp = export.New(rdb, site, q, s.proofs.PublicKeys(), out)
	body.exp.OnUnverified = func(u *ledger.UnverifiedError) {
		s.metrics.Unverified(site.ID, "export")
		s.log.Error("export: a log entry is not part of the signed chain", "site", site.ID, "stream_id", u.StreamID, "reason", u.Reason)
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), exportPageTimeout)
	more, err := body.exp.Next(ctx)
	cancel()
	if err != nil {
		return s.storeError(site.ID, err)
	}
	body.done = !more
	headers()
	c.Context().SetBodyStream(body, -1)
	return nil
}

// exportBody is the body of an export response: fasthttp reads it in the
// connection's goroutine and sends what it reads as chunks, and calls
// Close when the response is over (sent, failed or the client gone).
type exportBody struct {
	exp          *export.Exporter
	rdb          redis.UniversalClient
	buf          bytes.Buffer
	done         bool  // no more pages
	err          error // the export failed: end the body with it
	closed       bool
	bundle       *export.Bundle // format proof: the archive the records go into
	finished     bool           // the bundle's last files are written
	site, format string
	start        time.Time
	log          *slog.Logger

	// The server's WriteTimeout is a deadline for the whole response;
	// each read pushes it on, so an export may take as long as it needs
	// while a client that stops reading is still cut off.
	conn         net.Conn
	writeTimeout time.Duration
	extended     time.Time
}

func (b *exportBody) Read(p []byte) (int, error) {
	for b.buf.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done && b.bundle != nil && !b.finished {
			b.finished = true
			ctx, cancel := context.WithTimeout(context.Background(), exportPageTimeout)
			err := b.bundle.Finish(ctx, b.rdb, b.exp.Cited())
			cancel()
			if err != nil {
				b.fail(err)
			}
			continue
		}
		if b.done {
			return 0, io.EOF
		}
		ctx, cancel := context.WithTimeout(context.Background(), exportPageTimeout)
		more, err := b.exp.Next(ctx)
		cancel()
		b.done = !more
		if err != nil {
			b.fail(err)
		}
	}
	if now := time.Now(); b.conn != nil && b.writeTimeout > 0 && now.Sub(b.extended) > time.Second {
		_ = b.conn.SetWriteDeadline(now.Add(b.writeTimeout))
		b.extended = now
	}
	return b.buf.Read(p)
}

// fail makes the body end with an error once what is buffered is sent.
func (b *exportBody) fail(err error) {
	b.err = fmt.Errorf("%w after %d records: %w", errExportIncomplete, b.exp.Count(), err)
	b.log.Error("export failed part-way; response cut off", "site", b.site, "format", b.format,
		"records", b.exp.Count(), "took", time.Since(b.start).Round(time.Millisecond), "err", err)
	if b.format == export.NDJSON {
		line, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(
			"export incomplete: the consent store failed after %d records; retry the export", b.exp.Count())})
		b.buf.Write(line)
		b.buf.WriteByte('\n')
	}
}

// Close logs the export's outcome.
func (b *exportBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	took := time.Since(b.start)
	switch {
	case b.err != nil: // logged by fail
	case b.done && b.buf.Len() == 0:
		rate := float64(b.exp.Count()) / max(took.Seconds(), 1e-9)
		b.log.Info("export done", "site", b.site, "format", b.format, "records", b.exp.Count(),
			"took", took.Round(time.Millisecond), "records_per_s", int(rate))
	default:
		b.log.Warn("export not completed: the client went away or stopped reading", "site", b.site,
			"format", b.format, "records", b.exp.Count(), "took", took.Round(time.Millisecond))
	}
	return nil
}
