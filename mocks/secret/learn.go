package secret

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxInnerDepth is how many JSON documents sent as strings LearnExchange looks into, one
// inside the other (the seed's assertion is Entra's whole token response as a string).
const maxInnerDepth = 2

// LearnExchange adds to s every secret one HTTP exchange carries, each with its kind:
// secret-named query parameters, secret headers both ways, secret-named fields of a form
// body, and every value under a secret-named JSON member of either body at any depth (a
// string as is and as it appears JSON-escaped, another value as its JSON), including
// members of JSON documents sent as strings, up to maxInnerDepth levels down. It is the
// one place the engine's traces, the proxy's journal and the recorder learn from.
func (s *Scrubber) LearnExchange(query url.Values, reqHeader, respHeader http.Header, reqBody, respBody []byte) {
	for k, vs := range query {
		if kind := FieldKind(k); kind != 0 {
			s.AddAs(kind, vs...)
		}
	}
	for _, h := range []http.Header{reqHeader, respHeader} {
		for k, vs := range h {
			for _, v := range vs {
				if kind, secret, ok := InHeader(k, v); ok {
					s.AddAs(kind, secret)
				}
			}
		}
	}
	s.learnBody(reqHeader.Get("Content-Type"), reqBody)
	s.learnBody(respHeader.Get("Content-Type"), respBody)
}

// learnBody learns from a JSON body, or from a form body (by its content type, or with
// none when it is not JSON).
func (s *Scrubber) learnBody(ct string, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		s.learnJSON(v, 0, 0)
		return
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" && ct != "" {
		return
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return
	}
	for k, vs := range vals {
		if kind := FieldKind(k); kind != 0 {
			s.AddAs(kind, vs...)
			for _, v := range vs {
				s.learnInner(v, 0)
			}
		}
	}
}

// learnJSON adds every value under a secret-named member (with that member's kind).
func (s *Scrubber) learnJSON(v any, under Kind, depth int) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s.learnJSON(e, max(under, FieldKind(k)), depth)
		}
	case []any:
		for _, e := range x {
			s.learnJSON(e, under, depth)
		}
	case string:
		if under != 0 {
			s.AddAs(under, x)
			if b, err := json.Marshal(x); err == nil && len(b) > 2 && string(b[1:len(b)-1]) != x {
				s.AddAs(under, string(b[1:len(b)-1]))
			}
		}
		s.learnInner(x, depth)
	case nil:
	default:
		if under != 0 {
			b, _ := json.Marshal(x)
			s.AddAs(under, string(b))
		}
	}
}

// learnInner looks into a string that is itself a JSON object.
func (s *Scrubber) learnInner(str string, depth int) {
	if depth >= maxInnerDepth || !strings.HasPrefix(strings.TrimSpace(str), "{") {
		return
	}
	var v any
	if json.Unmarshal([]byte(str), &v) == nil {
		s.learnJSON(v, 0, depth+1)
	}
}
