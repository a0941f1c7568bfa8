package noticeimport

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentd/consentd/config/notice"
)

// The contact details of controllers and contact persons: names, postal
// addresses, Y-tunnus, phone numbers, e-mail and web addresses, each
// read only when it has a shape the notice model accepts.

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	urlPattern   = regexp.MustCompile(`https?://[^\s,;()<>]+[^\s,;()<>.]`)
	// businessIDPattern is a Y-tunnus, with its label when there is one.
	businessIDPattern = regexp.MustCompile(`(?i)(?:(?:y-?tunnus|fo-?nummer|business id|company id|org\.? ?nr|organisationsnummer)\s*[:.]?\s*)?\b(\d{7}-\d)\b`)
	// regNumberPattern is another organisation number given with its label.
	regNumberPattern = regexp.MustCompile(`(?i)\b(yhdistysrekisterinumero|rekisterinumero|registernummer|registration number|registrikood|organisationsnummer|org\.? ?nr)\s*[:.]?\s*([0-9][0-9.\-]{2,20}[0-9])\b`)
	// phonePattern is a phone number after its label.
	phonePattern = regexp.MustCompile(`(?i)(?:^|[\s,(])(?:puh(?:elin)?|p|tel(?:efon)?|phone|gsm|mob(?:ile)?|matkapuhelin|vaihde|växel|mobil|puhelinvaihde)\.?\s*:?\s*(\+?\(?\d[\d \-()/]{3,}\d)`)
	// barePhone is a line that is only a phone number.
	barePhone = regexp.MustCompile(`^(\+?\(?\d[\d \-()/]{5,}\d)$`)
	// postalLine ends with a postal code and a place: "00100 Helsinki",
	// "FI-00100 HELSINKI", "104 20 Stockholm".
	postalLine = regexp.MustCompile(`^(.*?)[,\s]*\b((?:FI-|SE-)?\d{5}|\d{3} \d{2})\s+(\p{Lu}[\p{L}\-]+(?: \p{L}+)?)$`)
	// streetLine looks like a street address or a P.O. box.
	streetLine = regexp.MustCompile(`(?i)^(pl|pb|box|p\.?\s?o\.?\s?box|postilokero|c/o)\s|^[\p{L}][\p{L}\-. ]*\s\d+[a-z]?(\s|,|$)`)
	// fieldLabel is a label before a value: "Osoite:", "Puh.", "E-mail:".
	fieldLabel = regexp.MustCompile(`(?i)^(nimi|namn|name|yritys|organisaatio|organisation|company|osoite|postiosoite|käyntiosoite|adress|postadress|besöksadress|address|postal address|sähköposti|s-posti|e-?mail|e-?post|verkkosivu(t|st)?|kotisivu(t)?|webbplats|website|web|www|yhteystiedot|kontaktuppgifter|contact details|tehtävä|titteli|asema|befattning|title|role)\s*[:.]?\s*`)
	roleLabel  = regexp.MustCompile(`(?i)^(tehtävä|titteli|asema|befattning|title|role)\s*[:.]?\s*`)
	nameLabel  = regexp.MustCompile(`(?i)^(nimi|namn|name|yritys|organisaatio|organisation|company)\s*[:.]?\s*`)
	// separators are runs of commas left where fields were taken out.
	separators = regexp.MustCompile(`(\s*[,;]\s*){2,}|\s+,`)
	// dpoWord marks a data protection officer.
	dpoWord = regexp.MustCompile(`(?i)tietosuojavastaava|dataskyddsombud|data protection officer|\bdpo\b`)
)

// entry is one party or contact being read: the fields found so far and
// the lines left over.
type entry struct {
	Name, BusinessID, Address, Phone, Email, URL string
	// RegLabel is the label of a registration number that is not a
	// Y-tunnus ("Yhdistysrekisterinumero").
	RegLabel string
	Role     []string
	DPO      bool
	Contact  bool // introduced by a contact label inside a controller section
	Notes    []string
}

// empty reports whether nothing was read into e.
func (e *entry) empty() bool {
	return e.Name == "" && e.BusinessID == "" && e.Address == "" && e.Phone == "" && e.Email == "" && e.URL == "" && len(e.Role) == 0
}

// readEntries reads a controller or contact section: each paragraph or
// item adds to the current entry; a paragraph naming someone when the
// entry already has a name starts a new one, and so does a line labelled
// as a contact ("Yhteyshenkilö:", "Tietosuojavastaava").
func readEntries(blocks []block, contactSection bool) (entries []*entry, rest []block) {
	cur := &entry{}
	push := func() {
		if !cur.empty() {
			entries = append(entries, cur)
		}
		cur = &entry{}
	}
	for _, b := range blocks {
		if b.Kind == blockTable {
			rest = append(rest, b)
			continue
		}
		lines := strings.Split(b.Text, "\n")
		var address []string
		oneLineParty := false
		for i := 0; i < len(lines); i++ {
			line := strings.TrimSpace(strings.TrimLeft(lines[i], "-•*– "))
			// A contact label starts an entry: "Yhteyshenkilö: Liisa Lehtonen".
			if label, after, ok := strings.Cut(line, ":"); ok || utf8.RuneCountInString(line) < 80 {
				if !ok {
					label, after = line, ""
				}
				if k, _, _ := classify(label); !strings.ContainsAny(label, "@/0123456789") && (k == kindContact || k == kindControllerContact) && utf8.RuneCountInString(label) < 60 {
					if !contactSection || !cur.empty() {
						push()
					}
					cur.Contact, cur.DPO = true, dpoWord.MatchString(label)
					line = strings.TrimSpace(after)
					if line == "" {
						continue
					}
				}
			}
			if !contactSection && !cur.Contact && strings.Count(line, ",") >= 2 &&
				(emailPattern.MatchString(line) || businessIDPattern.MatchString(line)) {
				push() // "Name, business ID …, street, postal code, e-mail": one party per line
				oneLineParty = true
			}
			line = cur.take(line)
			if m := postalLine.FindStringSubmatch(line); m != nil {
				// "Name, Street 1, 00100 City": the street parts (from the
				// end) are the address, what comes before them the rest.
				parts := splitStreet(fieldLabel.ReplaceAllString(m[1], ""))
				cut := len(parts)
				for cut > 0 && streetLine.MatchString(parts[cut-1]) {
					cut--
				}
				if cut == len(parts) && len(address) == 0 && cur.lastRoleIsStreet() {
					address = append(address, cur.popRole())
				}
				address = append(address, parts[cut:]...)
				address = append(address, m[2]+" "+m[3])
				cur.Address = strings.Join(address, "\n")
				address = nil
				if rest := strings.Join(parts[:cut], ", "); rest != "" {
					cur.leftover(rest, contactSection || cur.Contact)
				}
				if oneLineParty {
					push()
					oneLineParty = false
				}
				continue
			}
			if line == "" {
				continue
			}
			if streetLine.MatchString(line) && i+1 < len(lines) && postalLine.MatchString(strings.TrimSpace(lines[i+1])) {
				address = append(address, line)
				continue
			}
			cur.leftover(line, contactSection || cur.Contact)
			if oneLineParty {
				push()
				oneLineParty = false
			}
		}
	}
	push()
	return entries, rest
}

// splitStreet splits "Katu 1, PL 20" into lines.
func splitStreet(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// lastRoleIsStreet reports whether the last left-over line is a street.
func (e *entry) lastRoleIsStreet() bool {
	return len(e.Role) > 0 && streetLine.MatchString(e.Role[len(e.Role)-1])
}

// popRole removes and returns the last left-over line.
func (e *entry) popRole() string {
	r := e.Role[len(e.Role)-1]
	e.Role = e.Role[:len(e.Role)-1]
	return r
}

// take reads the e-mail, web address, Y-tunnus, registration number and
// phone of a line into e and returns what is left of the line.
func (e *entry) take(line string) string {
	if m := emailPattern.FindString(line); m != "" {
		if a, err := mail.ParseAddress(m); err == nil && a.Address == m {
			if e.Email == "" {
				e.Email = m
				line = strings.Replace(line, m, "", 1)
			}
		}
	}
	if m := urlPattern.FindString(line); m != "" && e.URL == "" {
		e.URL = m
		line = strings.Replace(line, m, "", 1)
	}
	if m := businessIDPattern.FindStringSubmatchIndex(line); m != nil && e.BusinessID == "" {
		id := line[m[2]:m[3]]
		if validYTunnus(id) {
			e.BusinessID = id
		} else {
			e.Notes = append(e.Notes, "Y-tunnus "+id+" has a wrong check digit: kept as text, not as businessId")
			e.Role = append(e.Role, strings.TrimSpace(line[m[0]:m[1]]))
		}
		line = line[:m[0]] + line[m[1]:]
	} else if m := regNumberPattern.FindStringSubmatchIndex(line); m != nil && e.BusinessID == "" {
		e.BusinessID, e.RegLabel = line[m[4]:m[5]], line[m[2]:m[3]]
		line = line[:m[0]] + line[m[1]:]
	}
	if m := phonePattern.FindStringSubmatchIndex(line); m != nil && e.Phone == "" && validPhone(line[m[2]:m[3]]) {
		e.Phone = strings.TrimSpace(line[m[2]:m[3]])
		line = line[:m[0]] + " " + line[m[1]:]
	} else if m := barePhone.FindStringSubmatch(strings.TrimSpace(line)); m != nil && e.Phone == "" && validPhone(m[1]) {
		e.Phone = m[1]
		line = ""
	}
	return cleanLeftover(line)
}

// cleanLeftover trims what is left of a line once its fields are taken:
// separators and labels without their values.
func cleanLeftover(s string) string {
	s = strings.TrimSpace(separators.ReplaceAllString(s, ", "))
	for {
		t := strings.Trim(s, " ,;:/|–-()")
		t = strings.TrimSpace(fieldLabelOnly(t))
		if t == s {
			return s
		}
		s = t
	}
}

// fieldLabelOnly removes a trailing label left without its value
// ("…, puh." once the number is taken).
func fieldLabelOnly(s string) string {
	for _, suf := range []string{" puh", " puh.", " p.", " tel.", " tel", " puhelin", " sähköposti", " e-mail", " email", " e-post", " y-tunnus", " Y-tunnus"} {
		if strings.HasSuffix(strings.ToLower(s), suf) {
			return s[:len(s)-len(suf)]
		}
	}
	if l := fieldLabel.FindString(s); l != "" && !nameLabel.MatchString(s) && !roleLabel.MatchString(s) {
		return s[len(l):]
	}
	return s
}

// leftover keeps a line that holds no contact detail: the name (a
// labelled one, or the first such line) or else part of the role. For a
// contact, "rehtori Liisa Lehtonen" and "Liisa Lehtonen, rehtori" are a
// role and a name.
func (e *entry) leftover(line string, contact bool) {
	if m := nameLabel.FindString(line); m != "" {
		e.Name = strings.TrimSpace(line[len(m):])
		return
	}
	if m := roleLabel.FindString(line); m != "" {
		e.Role = append(e.Role, strings.TrimSpace(line[len(m):]))
		return
	}
	if !contact {
		if e.Name == "" && utf8.RuneCountInString(line) <= 200 {
			e.Name = line
			return
		}
		e.Role = append(e.Role, line)
		return
	}
	if e.Name != "" {
		e.Role = append(e.Role, line)
		return
	}
	// A contact: find a person's name (two or three capitalised words).
	for _, part := range strings.Split(line, ",") {
		part = strings.TrimSpace(part)
		words := strings.Fields(part)
		for start := 0; start < len(words); start++ {
			if n := len(words) - start; n >= 2 && n <= 4 && allCapitalised(words[start:]) {
				e.Name = strings.Join(words[start:], " ")
				if role := strings.TrimSpace(strings.Join(words[:start], " ")); role != "" {
					e.Role = append(e.Role, role)
				}
				for _, other := range strings.Split(line, ",") {
					if o := strings.TrimSpace(other); o != part && o != "" {
						e.Role = append(e.Role, o)
					}
				}
				return
			}
		}
	}
	e.Role = append(e.Role, line)
}

// allCapitalised reports whether every word starts with an upper-case
// letter and is made of letters, hyphens and apostrophes.
func allCapitalised(words []string) bool {
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) || strings.ToUpper(w) == w && len(w) > 1 {
			return false
		}
		for _, c := range w {
			if !unicode.IsLetter(c) && c != '-' && c != '\'' && c != '.' {
				return false
			}
		}
	}
	return true
}

// validYTunnus reports whether id is a Y-tunnus with the right check digit.
func validYTunnus(id string) bool {
	if !notice.IsYTunnus(id) {
		return false
	}
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(id[i]-'0') * w
	}
	r := sum % 11
	switch r {
	case 0:
		return id[8] == '0'
	case 1:
		return false
	}
	return id[8] == byte('0'+11-r)
}

// validPhone reports whether p is a phone number the notice accepts:
// digits, spaces, + - ( ) /, at least 5 digits, at most 40 characters.
func validPhone(p string) bool {
	p = strings.TrimSpace(p)
	digits := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-()/", r):
		default:
			return false
		}
	}
	return digits >= 5 && len(p) <= 40
}
