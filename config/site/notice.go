package site

import "github.com/consentd/consentd/config/notice"

// NoticeCountry returns the controller's country for the notice's
// defaults: the notice's country, else FI for sites whose default
// language is fi, else "". (A site whose default language is sv is not
// assumed to be Swedish: Finland has Swedish-speaking schools and
// municipalities.)
func (s *Site) NoticeCountry() string {
	if s.Notice.Country != "" {
		return s.Notice.Country
	}
	if s.DefaultLanguage == "fi" {
		return "FI"
	}
	return ""
}

// ComplaintAuthority returns the notice's complaint authority: the one
// configured, else the built-in one for NoticeCountry. ok is false when
// there is neither.
func (s *Site) ComplaintAuthority() (a notice.Authority, ok bool) {
	return s.Notice.Authority(s.NoticeCountry())
}

// CheckNotice reports what the site's privacy notice lacks, one warning
// per missing item, ordered by article. It expects a valid site (one that
// passed Validate); an empty result means the notice is complete.
func (s *Site) CheckNotice() []notice.Warning {
	return s.Notice.Check(s.NoticeCountry())
}
