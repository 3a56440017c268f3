-- +goose Up
-- A rule's minimum and maximum platform fee are amounts, so they have a currency. They had none:
-- a client selling in several currencies got its 0.50 USD minimum as ¥50 on a yen payment and as
-- 0.050 KWD on a dinar one, its 10.00 USD cap as 1.000 KWD. A rule's bounds are now in its
-- fee_currency and apply only to payments in it; a payment in another currency pays the
-- percentages alone (split.Compute). Rules written before meant their client's default currency,
-- which is what they get here. The previous release's API names its columns and leaves this one
-- out: the insert trigger gives such a rule its client's default currency, as a rule created
-- without one through the new API gets too.
ALTER TABLE split_rules ADD COLUMN fee_currency text CHECK (fee_currency ~ '^[a-z]{3}$');

-- Rules are immutable (split_rules_no_update); this one backfill is not a change of terms, and
-- goose runs the migration in one transaction, so no other session sees the table writable.
ALTER TABLE split_rules DISABLE TRIGGER split_rules_no_update;
UPDATE split_rules r SET fee_currency = lower(c.default_currency) FROM clients c WHERE c.id = r.client_id;
ALTER TABLE split_rules ENABLE TRIGGER split_rules_no_update;

-- +goose StatementBegin
CREATE FUNCTION split_rules_fee_currency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fee_currency IS NULL THEN
        SELECT lower(default_currency) INTO NEW.fee_currency FROM clients WHERE id = NEW.client_id;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER split_rules_fee_currency BEFORE INSERT ON split_rules
    FOR EACH ROW EXECUTE FUNCTION split_rules_fee_currency();

ALTER TABLE split_rules ALTER COLUMN fee_currency SET NOT NULL;

-- +goose Down
DROP TRIGGER split_rules_fee_currency ON split_rules;
DROP FUNCTION split_rules_fee_currency;
ALTER TABLE split_rules DROP COLUMN fee_currency;
