package kpitest

import (
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Search clauses the server understands, of Stripe's search query language: a metadata key, a
// string field, a numeric comparison of created. Clauses are joined with AND.
var (
	metadataClause = regexp.MustCompile(`^metadata\['([^'\\]+)'\]:'((?:[^'\\]|\\.)*)'$`)
	stringClause   = regexp.MustCompile(`^(currency|status):'((?:[^'\\]|\\.)*)'$`)
	createdClause  = regexp.MustCompile(`^created(>=|<=|>|<)(\d+)$`)
)

// search serves GET /v1/charges/search and /v1/payment_intents/search as Stripe does: the query
// filters the objects (a charge's own metadata; an intent's, which names ClientID), a value
// matched as Stripe's ':' matches, case-insensitively (client "Northwind" is found searching
// for "northwind"), pages are
// search_result objects with has_more and next_page, asked for again with page. Results are
// newest first. A query it cannot read is refused as Stripe refuses one.
func (s *Stripe) search(w http.ResponseWriter, r *http.Request) {
	s.calls++
	s.searches = append(s.searches, r.URL.Path+"?"+r.URL.RawQuery)
	if r.Header.Get("Authorization") == "" {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "You did not provide an API key.")
		return
	}
	if s.mock != "" {
		status, body, err := forward(s.mock, r)
		if err != nil {
			stripeError(w, http.StatusBadGateway, "api_error", "stripe-mock: "+err.Error())
			return
		}
		if status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return
		}
	}
	if s.failInjected(w) {
		return
	}
	q := r.URL.Query()
	intents := r.URL.Path == "/v1/payment_intents/search"
	match, ok := parseQuery(q.Get("query"), intents)
	if !ok {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid query: "+q.Get("query"))
		return
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 10
	}
	offset := 0
	if p := q.Get("page"); p != "" {
		if offset, err = strconv.Atoi(strings.TrimPrefix(p, "page_")); err != nil || !strings.HasPrefix(p, "page_") {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid page: "+p)
			return
		}
	}
	expand := map[string]bool{}
	for k, vs := range q {
		if strings.HasPrefix(k, "expand[") {
			for _, e := range vs {
				expand[e] = true
			}
		}
	}
	list := append([]Charge(nil), s.charges...)
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.After(list[j].Created)
		}
		return list[i].ID > list[j].ID
	})
	var matched []Charge
	for _, c := range list {
		if (!intents || c.PaymentIntent != "") && match(c) {
			matched = append(matched, c)
		}
	}
	matched = matched[min(offset, len(matched)):]
	hasMore := len(matched) > limit
	if hasMore {
		matched = matched[:limit]
	}
	data := make([]map[string]any, 0, len(matched))
	for _, c := range matched {
		if intents {
			var latest any = c.ID
			if expand["data.latest_charge"] {
				latest = chargeObject(c, false, expand["data.latest_charge.balance_transaction"])
			}
			data = append(data, intentObject(c, latest))
		} else {
			data = append(data, chargeObject(c, expand["data.payment_intent"], expand["data.balance_transaction"]))
		}
	}
	var next any
	if hasMore {
		next = "page_" + strconv.Itoa(offset+limit)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "search_result", "url": r.URL.Path, "has_more": hasMore,
		"next_page": next, "data": data})
}

// parseQuery reads a query of AND-joined clauses into a filter of charges (of their intents, for
// intents); ok is false for a clause it does not know.
func parseQuery(query string, intents bool) (match func(Charge) bool, ok bool) {
	var conds []func(Charge) bool
	for _, clause := range strings.Split(query, " AND ") {
		if m := metadataClause.FindStringSubmatch(clause); m != nil {
			key, want := m[1], unescape(m[2])
			conds = append(conds, func(c Charge) bool {
				md := chargeMetadata(c)
				if intents {
					md = map[string]string{"client_id": c.ClientID, "order_id": c.ClientID + "-" + c.ID}
				}
				v, ok := md[key]
				return ok && strings.EqualFold(v, want) // Stripe's ':' matches case-insensitively
			})
		} else if m := stringClause.FindStringSubmatch(clause); m != nil {
			field, want := m[1], unescape(m[2])
			conds = append(conds, func(c Charge) bool {
				if field == "currency" {
					return strings.EqualFold(c.Currency, want)
				}
				if intents {
					return strings.EqualFold(intentStatus(c), want)
				}
				return strings.EqualFold(c.Status, want)
			})
		} else if m := createdClause.FindStringSubmatch(clause); m != nil {
			op := m[1]
			n, _ := strconv.ParseInt(m[2], 10, 64)
			conds = append(conds, func(c Charge) bool {
				t := c.Created.Unix()
				if intents {
					t = c.intentCreated().Unix()
				}
				switch op {
				case ">=":
					return t >= n
				case "<=":
					return t <= n
				case ">":
					return t > n
				}
				return t < n
			})
		} else {
			return nil, false
		}
	}
	return func(c Charge) bool {
		for _, cond := range conds {
			if !cond(c) {
				return false
			}
		}
		return true
	}, true
}

func unescape(v string) string {
	return strings.NewReplacer(`\\`, `\`, `\'`, `'`).Replace(v)
}

// forward sends r to the server at base and returns its answer.
func forward(base string, r *http.Request) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.Path+"?"+r.URL.RawQuery, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
