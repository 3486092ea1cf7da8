-- Fine-grained access control of a cell database
-- (https://cloud.google.com/spanner/docs/fgac-about). The cell's app connects with the
-- database role `app` and holds exactly the table privileges below; it has no DDL right, so it
-- cannot drop or alter its own tables. Schema changes run as the cell's migration identity
-- (roles/spanner.databaseAdmin on this database), used only by the deploy pipeline.

CREATE ROLE app;

-- A customer is created and updated by the app; erasure is a privileged job, not the app's.
GRANT SELECT, INSERT, UPDATE ON TABLE Customers TO ROLE app;
GRANT SELECT, INSERT, UPDATE ON TABLE Accounts TO ROLE app;
-- The ledger is append-only for the app: booked transactions are never changed or removed.
GRANT SELECT, INSERT ON TABLE Transactions TO ROLE app;
-- The outbox relay marks events published and deletes them after publication.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE Outbox TO ROLE app;
-- A bucket being moved is fenced (rollout shards move): before each write the app reads the
-- bucket's fence in the same transaction; only the mover sets or lifts it.
GRANT SELECT ON TABLE BucketFences TO ROLE app;
