// Package batch gathers work that is already waiting into one batch, so a group commit or a
// batched call takes what is there without waiting for more.
package batch

// Waiting appends to into the values ch holds now, without waiting for more, until into holds
// limit. each, when not nil, is called with every value taken (to free what it held).
func Waiting[T any](ch <-chan T, into []T, limit int, each func(T)) []T {
	for len(into) < limit {
		select {
		case v := <-ch:
			if each != nil {
				each(v)
			}
			into = append(into, v)
		default:
			return into
		}
	}
	return into
}
