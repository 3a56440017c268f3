package store

import "regexp"

// otherClientInReason is how legs held before the reason stopped naming the payee's client
// (56ca56d) said it; a client is not told another client's ID.
var otherClientInReason = regexp.MustCompile(`belongs to client "[^"]*", not "[^"]*"`)

// ClientReason is a leg's reason as a client may read it (its payouts list, its weekly report): a
// reason stored before 56ca56d names the client the payee belongs to, which now reads "is
// registered to another client", as the payee check has said since.
func ClientReason(reason string) string {
	return otherClientInReason.ReplaceAllString(reason, "is registered to another client")
}
