-- +goose Up
-- When a payment first resolved the payee as its client's, to pay it (store.ResolvePayee). On the
-- book-with-save path a payment pays its payees before it books its capture and transfers (with
-- its next save), so for that while the books do not show the payee; an admin moving it to another
-- client or kind would leave one client's payee paid in another's books. The move is refused for a
-- payee resolved, as for one in the books (store.PayeeInBooks). Nullable and written by the new
-- workers only: the previous release's statements name their columns and never read it.
ALTER TABLE payees ADD COLUMN resolved_at timestamptz;

-- +goose Down
ALTER TABLE payees DROP COLUMN resolved_at;
