-- seeother store, schema version 9: the admin list's orders read from indexes, so that a
-- page by most hits or by last change costs its offset, not a sort of every rule.

-- Most hits first, then by id (rules never counted come after, by id).
CREATE INDEX rule_hits_most ON rule_hits (hits DESC, rule_id);

-- Most recently changed first, then the newest id (read backwards).
CREATE INDEX rules_changed ON rules (updated_at, id);
