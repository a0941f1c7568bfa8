package noticeimport

import (
	"bytes"
	"fmt"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/consentd/consentd/config/notice"
)

// Placeholders of the draft: what a site file needs and a notice does
// not say. Each is marked "# TODO" in the file.
var (
	placeholderOrigin = "https://www.example.fi"
	categoryLabel     = map[string]string{"fi": "Välttämättömät", "sv": "Nödvändiga", "en": "Necessary"}
	categoryText      = map[string]string{
		"fi": "Sivuston toiminnan kannalta välttämättömät evästeet.",
		"sv": "Kakor som behövs för att webbplatsen ska fungera.",
		"en": "Cookies the site needs to work.",
	}
)

// draft writes the site file: the placeholders a site needs (marked
// TODO) and the notice read from the source, without empty fields.
func draft(id, source, lang string, n *notice.Notice) ([]byte, error) {
	var nn yaml.Node
	if err := nn.Encode(n); err != nil {
		return nil, fmt.Errorf("writing the draft: %w", err)
	}
	prune(&nn)
	fixSafeguards(&nn)

	name := id
	switch {
	case len(n.Controllers) > 0 && n.Controllers[0].Name != "":
		name = n.Controllers[0].Name
	case len(n.RegisterName) > 0:
		name = n.RegisterName[lang]
	}
	policy := n.Updated
	if policy == "" {
		policy = n.ValidFrom
	}
	policyComment := "the version of the site's privacy policy: change it when the notice changes"
	if policy == "" {
		policy = "1"
	}

	root := mapping(
		pair("id", scalar(id), ""),
		pair("name", scalar(name), "TODO: the site's name as visitors know it"),
		pair("origins", seq(scalar(placeholderOrigin)), "TODO: the origins of the pages that load the widget"),
		pair("languages", flowSeq(scalar(lang)), ""),
		pair("defaultLanguage", scalar(lang), ""),
		pair("policyVersion", quoted(policy), "TODO: "+policyComment),
		pair("categories", seq(mapping(
			pair("id", scalar("necessary"), ""),
			pair("required", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}, ""),
			pair("label", flowMap(lang, categoryLabel[lang]), ""),
			pair("description", flowMap(lang, categoryText[lang]), "TODO: list the site's cookies as services of their categories (docs/configuration.md)"),
		)), ""),
		pair("notice", &nn, ""),
	)
	root.HeadComment = fmt.Sprintf("Draft site file made by `consentd notice import` from %s.\n"+
		"Every fact below comes from that notice; nothing was added but the lines marked TODO.\n"+
		"Next: fill in the TODOs, then `consentd notice check %s.yaml` and add what it asks for.\n"+
		"Reference: docs/notice.md", filepath.Base(source), id)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("writing the draft: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the draft: %w", err)
	}
	return buf.Bytes(), nil
}

// kv is a key and its value in a mapping.
type kv struct{ k, v *yaml.Node }

func pair(key string, v *yaml.Node, comment string) kv {
	k := scalar(key)
	if comment != "" {
		if v.Kind == yaml.ScalarNode || v.Style == yaml.FlowStyle {
			v.LineComment = comment
		} else {
			k.HeadComment = comment
		}
	}
	return kv{k, v}
}

func mapping(pairs ...kv) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range pairs {
		n.Content = append(n.Content, p.k, p.v)
	}
	return n
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func quoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: yaml.DoubleQuotedStyle}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func flowSeq(items ...*yaml.Node) *yaml.Node {
	n := seq(items...)
	n.Style = yaml.FlowStyle
	return n
}

func flowMap(k, v string) *yaml.Node {
	n := mapping(kv{scalar(k), scalar(v)})
	n.Style = yaml.FlowStyle
	return n
}

// keepFalse are the keys whose false says something (required fields).
var keepFalse = map[string]bool{"outsideEEA": true, "used": true, "applies": true, "numberedHeadings": true}

// prune removes empty values from an encoded notice: "", null, false
// (except keepFalse), {} and [], so the draft holds only what was read.
func prune(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "" || n.Tag == "!!null"
	case yaml.SequenceNode:
		out := n.Content[:0]
		for _, c := range n.Content {
			if !prune(c) {
				out = append(out, c)
			}
		}
		n.Content = out
		return len(out) == 0
	case yaml.MappingNode:
		out := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" && v.Value == "false" && !keepFalse[k.Value] {
				continue
			}
			if !prune(v) {
				out = append(out, k, v)
			}
		}
		n.Content = out
		return len(out) == 0
	}
	return false
}

// fixSafeguards writes each transfer safeguard as a site file does: its
// key as a string, or the controller's text as a mapping.
func fixSafeguards(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "safeguards" && v.Kind == yaml.SequenceNode {
			for j, sg := range v.Content {
				if sg.Kind != yaml.MappingNode {
					continue
				}
				for m := 0; m+1 < len(sg.Content); m += 2 {
					switch sg.Content[m].Value {
					case "key":
						v.Content[j] = sg.Content[m+1]
					case "text":
						v.Content[j] = sg.Content[m+1]
					}
				}
			}
			continue
		}
		fixSafeguards(v)
	}
}
