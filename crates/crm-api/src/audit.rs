//! Writing the audit log from handlers, inside the same transaction as the
//! change it records.

use crate::auth::Principal;
use crate::config_cache::ConfigCache;
use crate::error::ApiError;
use crate::http::RequestId;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use crm_storage::audit::{self, AuditEvent};
use crm_storage::webhooks::{self, Subscription};
use crm_storage::DbConnection;
use std::sync::{Arc, Mutex};

/// Who did it and under which request: enough to write an audit event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub request_id: String,
    /// The organisation's webhook subscriptions, read once per request
    /// (a booking announces several events).
    subscriptions: Arc<Mutex<Option<Arc<Vec<Subscription>>>>>,
    /// Where a request's actor finds them first (see [`ConfigCache`]).
    config_cache: Option<Arc<ConfigCache>>,
}

impl Actor {
    pub fn new(principal: &Principal, request_id: &RequestId, state: &AppState) -> Self {
        Actor {
            principal: principal.clone(),
            request_id: request_id.0.clone(),
            subscriptions: Default::default(),
            config_cache: Some(state.config_cache.clone()),
        }
    }

    /// hotel-crm itself, running `job` for one organisation.
    pub fn system(org_id: &str, job: &str) -> Self {
        Actor {
            principal: Principal {
                kind: crate::auth::PrincipalKind::System,
                id: format!("job:{job}"),
                org_id: org_id.to_string(),
                role: crm_domain::role::Role::Admin,
            },
            request_id: crm_domain::id::new_id().to_string(),
            subscriptions: Default::default(),
            config_cache: None,
        }
    }

    fn subscriptions(&self, conn: &mut DbConnection) -> Result<Arc<Vec<Subscription>>, ApiError> {
        let mut cached = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cached.as_ref() {
            return Ok(s.clone());
        }
        let org = &self.principal.org_id;
        let loaded = match &self.config_cache {
            Some(cache) => cache.subscriptions(conn, org)?,
            None => Arc::new(webhooks::list_subscriptions(conn, org)?),
        };
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    /// An event with no other change to join it, in a transaction of its
    /// own: a log-in, a job someone ran by hand.
    pub async fn record_alone(
        self,
        state: &AppState,
        action: &'static str,
        entity_type: &'static str,
        entity_id: String,
    ) -> Result<(), ApiError> {
        let now = state.clock.now();
        state
            .write(move |conn| self.record(conn, now, action, entity_type, &entity_id, &[]))
            .await
    }

    pub fn record(
        &self,
        conn: &mut DbConnection,
        now: DateTime<Utc>,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        changed_fields: &[&str],
    ) -> Result<(), ApiError> {
        audit::record(
            conn,
            &AuditEvent {
                id: crm_domain::id::new_id().to_string(),
                org_id: self.principal.org_id.clone(),
                actor_kind: self.principal.kind.as_str().to_string(),
                actor_id: Some(self.principal.id.clone()),
                action: action.to_string(),
                entity_type: entity_type.to_string(),
                entity_id: Some(entity_id.to_string()),
                request_id: Some(self.request_id.clone()),
                changed_fields: changed_fields.iter().map(|f| f.to_string()).collect(),
                created_at: now,
            },
        )?;
        // The same transaction writes the webhook event, if the action
        // announces one: no change without its event, no event without it.
        if crate::webhooks::event_for(action).is_none() {
            return Ok(());
        }
        let subscriptions = self.subscriptions(conn)?;
        crate::webhooks::emit(
            conn,
            &subscriptions,
            &self.principal.org_id,
            action,
            entity_type,
            entity_id,
            now,
        )?;
        Ok(())
    }
}
