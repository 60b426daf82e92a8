//! Running one SQL text on either backend. Queries are written once with `$N` placeholders,
//! which both PostgreSQL and sqlx's SQLite driver understand; these macros expand the body once
//! per backend so each copy is type-checked against its own driver.

/// Evaluates `$body` with `$pool` bound to the backend's pool (for single statements that need
/// no transaction).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { pool: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
}

/// Evaluates `$body` inside a write transaction bound to `$tx` and commits it; an early return
/// (`?`) rolls it back. On SQLite the transaction is `BEGIN IMMEDIATE` behind the writer slot.
macro_rules! write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { writer, .. } => {
                let mut write = $crate::store::Store::sqlite_write(writer).await?;
                let $tx = &mut *write.tx;
                let output = $body;
                write.commit().await?;
                output
            }
            $crate::store::Pools::Postgres(pool) => {
                let mut transaction = $crate::store::Store::postgres_write(pool).await?;
                let $tx = &mut *transaction;
                let output = $body;
                transaction.commit().await?;
                output
            }
        }
    };
}

/// Inside a write transaction `$tx`: for each event of `$events` (a `&[&EventDelivery]`),
/// inserts one pending delivery of its payload for each of its profile's webhooks that wants it;
/// evaluates to the new delivery ids, in the events' order. One read of the profiles' webhooks
/// and one multi-row insert per [`DELIVERY_ROWS`] deliveries, whatever the number of events. A
/// disabled webhook gets its deliveries too: they wait until it is enabled again rather than
/// being lost. A macro rather than a function for the same reason as [`write_tx`]: the body runs
/// on either backend's transaction type.
macro_rules! fan_out_events {
    ($tx:ident, $events:expr, $now:expr) => {{
        let events: &[&$crate::outbox::EventDelivery] = $events;
        let now: i64 = $now;
        let mut ids: Vec<String> = Vec::new();
        if !events.is_empty() {
            let mut profiles: Vec<&str> = events.iter().map(|e| e.profile_id.as_str()).collect();
            profiles.sort_unstable();
            profiles.dedup();
            let mut read =
                sqlx::query_as::<_, $crate::webhooks::WebhookRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM webhooks WHERE profile_id IN ({}) ORDER BY created_at, id",
                    $crate::webhooks::WEBHOOK_COLUMNS,
                    $crate::posts::placeholders(1, profiles.len())
                )));
            for profile in &profiles {
                read = read.bind(*profile);
            }
            let webhooks = read.fetch_all(&mut *$tx).await?;
            let rows: Vec<(String, &str, &$crate::outbox::EventDelivery)> = events
                .iter()
                .flat_map(|event| {
                    webhooks
                        .iter()
                        .filter(|webhook| {
                            webhook.profile_id == event.profile_id && webhook.wants(&event.event)
                        })
                        .map(|webhook| {
                            (
                                uuid::Uuid::now_v7().to_string(),
                                webhook.id.as_str(),
                                *event,
                            )
                        })
                })
                .collect();
            for chunk in rows.chunks($crate::sql::DELIVERY_ROWS) {
                // $1 is `now`; each row binds five more.
                let values = (0..chunk.len())
                    .map(|row| {
                        let n = 2 + row * 5;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, 'pending', 0, $1, $1)",
                            n,
                            n + 1,
                            n + 2,
                            n + 3,
                            n + 4
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO webhook_deliveries
                        (id, webhook_id, profile_id, event, payload, status, attempts,
                         next_attempt_at, created_at)
                     VALUES {values}"
                )))
                .bind(now);
                for (id, webhook_id, event) in chunk {
                    insert = insert
                        .bind(id.as_str())
                        .bind(*webhook_id)
                        .bind(event.profile_id.as_str())
                        .bind(event.event.as_str())
                        .bind(event.payload.as_str());
                }
                insert.execute(&mut *$tx).await?;
            }
            ids.extend(rows.into_iter().map(|(id, _, _)| id));
        }
        ids
    }};
}

/// Deliveries per multi-row insert of [`fan_out_events`]: 5 bound values each, far below
/// either backend's limit on bound values.
pub(crate) const DELIVERY_ROWS: usize = 500;

/// [`fan_out_events`] for one event of `$profile_id`.
macro_rules! fan_out_to_webhooks {
    ($tx:ident, $profile_id:expr, $event:expr, $payload:expr, $now:expr) => {{
        let delivery = $crate::outbox::EventDelivery {
            profile_id: ($profile_id).to_owned(),
            event: ($event).to_owned(),
            payload: ($payload).to_owned(),
        };
        $crate::sql::fan_out_events!($tx, &[&delivery], $now)
    }};
}

pub(crate) use {fan_out_events, fan_out_to_webhooks, with_pool, write_tx};
