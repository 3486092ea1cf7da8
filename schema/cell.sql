-- Cell database: one per cell, holding the personal and financial data of the customers whose
-- bucket the shard table gives to this cell. It lives in the region's Spanner instance, so the
-- data stays inside the region's residency.
--
-- Hotspots: Spanner splits tables by key range, so a first key part that only grows (a
-- sequence, a timestamp) sends every insert to the last split. Every first key part here is a
-- random UUIDv4 string or a small bounded shard number; timestamps never lead a key.

-- One row per customer. CustomerId is a UUIDv4 (random, so inserts spread over all splits).
-- Bucket is the shard bucket (rollout.shards.bucket_for) stored so the rows of one bucket can
-- be found and copied when the rebalancer moves that bucket to another cell.
CREATE TABLE Customers (
  CustomerId STRING(36) NOT NULL,
  Bucket INT64 NOT NULL,
  LegalName STRING(MAX) NOT NULL,
  Email STRING(320),
  CountryCode STRING(2) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT CustomersBucketNonNegative CHECK (Bucket >= 0),
) PRIMARY KEY (CustomerId);

-- Finds every customer of a bucket when the bucket moves; Bucket values are spread over
-- 0..B-1, so this index has no hot end either.
CREATE INDEX CustomersByBucket ON Customers (Bucket);

-- Accounts are stored inside their customer's rows (interleaved): a customer's accounts are
-- read and written together in one split. Deleting a customer (erasure) deletes its accounts,
-- but see Transactions: an account with booked transactions stops that delete.
CREATE TABLE Accounts (
  CustomerId STRING(36) NOT NULL,
  AccountId STRING(36) NOT NULL,
  Currency STRING(3) NOT NULL,
  -- NUMERIC: exact decimal (38 digits, 9 after the point); money is never a float.
  Balance NUMERIC NOT NULL,
  Status STRING(16) NOT NULL,
  OpenedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT AccountsCurrencyIso4217 CHECK (REGEXP_CONTAINS(Currency, r'^[A-Z]{3}$')),
) PRIMARY KEY (CustomerId, AccountId),
  INTERLEAVE IN PARENT Customers ON DELETE CASCADE;

-- The ledger, interleaved in its account. TransactionId is a UUIDv4 so an account's
-- transactions do not pile onto one split either. ON DELETE NO ACTION: booked transactions
-- are records the bank must keep, so deleting an account (or its customer) that has any fails
-- instead of silently erasing the ledger.
CREATE TABLE Transactions (
  CustomerId STRING(36) NOT NULL,
  AccountId STRING(36) NOT NULL,
  TransactionId STRING(36) NOT NULL,
  -- Signed amount in Currency: credits positive, debits negative.
  Amount NUMERIC NOT NULL,
  Currency STRING(3) NOT NULL,
  Description STRING(1024),
  BookedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT TransactionsCurrencyIso4217 CHECK (REGEXP_CONTAINS(Currency, r'^[A-Z]{3}$')),
) PRIMARY KEY (CustomerId, AccountId, TransactionId),
  INTERLEAVE IN PARENT Accounts ON DELETE NO ACTION;

-- Transactional outbox: events bound for Kafka are written in the same transaction as the
-- change they describe, and a relay publishes them afterwards, so an event is never lost or
-- sent for a change that rolled back. EventId is a UUIDv4 key (no hot split on insert).
-- ShardId (0..63, chosen at random or from the event key) lets up to 64 relays share the work.
-- PendingSince is the commit timestamp while the event waits and NULL once it is published,
-- so the NULL_FILTERED indexes below hold only pending events and shrink as they go out.
CREATE TABLE Outbox (
  EventId STRING(36) NOT NULL,
  ShardId INT64 NOT NULL,
  -- The bucket of the customer the event is about (rollout.shards.bucket_for), so a bucket
  -- move (rollout/moves.py) carries the bucket's pending events to the new cell. NULL for an
  -- event about no customer: it stays with the cell that wrote it.
  Bucket INT64,
  -- Kafka topic names are at most 249 characters.
  Topic STRING(249) NOT NULL,
  -- Kafka record key (e.g. the CustomerId) so one customer's events stay in order.
  EventKey STRING(MAX),
  Payload JSON NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  PendingSince TIMESTAMP OPTIONS (allow_commit_timestamp = true),
  PublishedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT OutboxShardRange CHECK (ShardId >= 0 AND ShardId < 64),
  CONSTRAINT OutboxBucketNonNegative CHECK (Bucket >= 0),
) PRIMARY KEY (EventId);

-- A relay reads its shard's pending events oldest first. The index leads with ShardId, not
-- the timestamp, so index writes spread over 64 ranges instead of hitting one hot end.
CREATE NULL_FILTERED INDEX OutboxPending ON Outbox (ShardId, PendingSince);

-- A bucket move finds the bucket's pending events here; Bucket leads (0..B-1, no hot end).
CREATE NULL_FILTERED INDEX OutboxPendingByBucket ON Outbox (Bucket, PendingSince);

-- Buckets this cell must not write (rollout/moves.py). A row exists while the bucket moves out
-- (State 'out') or in ('in'), and stays ('away') once the bucket has left, so a router with a
-- stale map cannot write here. The app's contract: every read-write transaction that writes a
-- customer's rows, or an Outbox event with a Bucket, first reads this table at that bucket in
-- the same transaction and writes nothing if a row exists. Reading it in the same transaction
-- is what makes the fence exact: Spanner orders that transaction either before the fence
-- commits (so the move's copy, read at the fence's commit timestamp, sees its rows) or after
-- it (so it sees the fence). CopyCursor, in the row of a move's lowest bucket on the
-- receiving cell, is the move's progress there, written in the same commit as each batch of
-- copied rows: a resumed copy starts right after it.
-- Bucket (0..B-1, at most 65,536 values) leads the key; this table holds at most one row per
-- bucket and changes only when a move does.
CREATE TABLE BucketFences (
  Bucket INT64 NOT NULL,
  MoveId STRING(36) NOT NULL,
  State STRING(8) NOT NULL,
  CopyCursor STRING(MAX),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT BucketFencesBucketRange CHECK (Bucket >= 0 AND Bucket < 65536),
  CONSTRAINT BucketFencesState CHECK (State IN ('out', 'in', 'away')),
) PRIMARY KEY (Bucket);
