-- +goose Up
-- What a customer paid that is neither a vendor's sale, its tax, nor shipping (a Shopify tip,
-- duties and additional fees, WooCommerce's fee lines) was stored in shipping, where a rule with
-- commission_on_shipping commissioned it. It is now told apart: extras is the part of shipping
-- that is such money (payment.Order.Extras, never commissioned). shipping keeps holding it, as
-- every release wrote it, so a task of the previous release (a rolling deploy, a rollback) reads
-- an order the new one stored as it always did: whole, its total right, the extras in shipping.
-- extras_of_shipping is the shipping the extras were told apart from: a previous release's write
-- of the order's amounts sets shipping and leaves the extras as they were, and the new release
-- then reads the extras only while shipping is still the one they came with (store.GetOrder),
-- else none: the order reads as the previous release stored it. Nullable, no default: instant on
-- a table with rows; an order stored before has no extras (they are in its shipping).
ALTER TABLE orders
    ADD COLUMN extras             bigint CHECK (extras >= 0),
    ADD COLUMN extras_of_shipping bigint;

-- +goose Down
-- The previous release reads shipping, which holds the extras: nothing is lost but the telling
-- apart, and its rules commission them with shipping again.
ALTER TABLE orders DROP COLUMN extras_of_shipping, DROP COLUMN extras;
