//! Campaigns: one idea turned into pins over an account's boards and days. The posts themselves
//! are ordinary posts; a campaign keeps which draft and board each of its pins took and which
//! post it became (or why it was refused), so the whole can be read and canceled as one.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// One campaign.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: String,
    pub profile_id: String,
    pub account_id: String,
    /// What the campaign was made from, as JSON (`{"url"}` or `{"text"}`, with a title).
    pub idea: String,
    /// Pins asked for.
    pub pins: i64,
    /// Days the pins are spread over.
    pub days: i64,
    /// `active` or `canceled`.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CampaignRow {
    pub const ACTIVE: &'static str = "active";
    pub const CANCELED: &'static str = "canceled";
}

/// One pin of a campaign: the draft and board it took, and the post it became or why not.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignPinRow {
    pub campaign_id: String,
    pub position: i64,
    pub draft_id: String,
    pub board_id: String,
    pub post_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

const CAMPAIGN_COLUMNS: &str =
    "id, profile_id, account_id, idea, pins, days, status, created_at, updated_at";
const PIN_COLUMNS: &str =
    "campaign_id, position, draft_id, board_id, post_id, error_code, error_message";

impl Store {
    /// Records a new campaign (before its first post is accepted).
    pub async fn insert_campaign(&self, row: &CampaignRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO campaigns (id, profile_id, account_id, idea, pins, days, status,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&row.id)
            .bind(&row.profile_id)
            .bind(&row.account_id)
            .bind(&row.idea)
            .bind(row.pins)
            .bind(row.days)
            .bind(&row.status)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Records one pin of a campaign, once its post was accepted or refused.
    pub async fn insert_campaign_pin(&self, pin: &CampaignPinRow) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO campaign_pins (campaign_id, position, draft_id, board_id, post_id,
                    error_code, error_message)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&pin.campaign_id)
            .bind(pin.position)
            .bind(&pin.draft_id)
            .bind(&pin.board_id)
            .bind(&pin.post_id)
            .bind(&pin.error_code)
            .bind(&pin.error_message)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// A campaign of the profile, with its pins in order.
    pub async fn campaign(
        &self,
        profile_id: &str,
        id: &str,
    ) -> Result<Option<(CampaignRow, Vec<CampaignPinRow>)>, StoreError> {
        let campaign_sql =
            format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1 AND profile_id = $2");
        let pins_sql = format!(
            "SELECT {PIN_COLUMNS} FROM campaign_pins WHERE campaign_id = $1 ORDER BY position"
        );
        Ok(with_pool!(self, pool => {
            let campaign: Option<CampaignRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(campaign_sql.as_str()))
                    .bind(id)
                    .bind(profile_id)
                    .fetch_optional(pool)
                    .await?;
            match campaign {
                None => None,
                Some(campaign) => {
                    let pins: Vec<CampaignPinRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(pins_sql.as_str()))
                            .bind(id)
                            .fetch_all(pool)
                            .await?;
                    Some((campaign, pins))
                }
            }
        }))
    }

    /// The profile's campaigns, newest first (at most `limit`).
    pub async fn campaigns(
        &self,
        profile_id: &str,
        limit: i64,
    ) -> Result<Vec<CampaignRow>, StoreError> {
        let sql = format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE profile_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(profile_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Marks a campaign canceled (its posts are canceled one by one by the caller).
    pub async fn mark_campaign_canceled(&self, id: &str, now: i64) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE campaigns SET status = 'canceled', updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
