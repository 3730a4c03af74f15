//! Building and running the server. Tests call [`Application::build`] with
//! port 0 and their own database, exactly as `hotel-crm serve` does.

use crate::auth::cache::PrincipalCache;
use crate::auth::jwt::JwtKeys;
use crate::auth::limiter::{LoginLimiter, RateLimiter};
use crate::config::Settings;
use crate::config_cache::ConfigCache;
use crate::crypto::DataCipher;
use crate::error::ApiError;
use crate::http::json::MAX_BODY_BYTES;
use crate::http::{idempotency::idempotency, request_log::request_log};
use crate::routes::*;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use crm_domain::clock::Clock;
use crm_storage::{migrations, Backend, Database};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

/// Every route of the API, for the server and for the spec.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(health::ready).service(
        scope::scope("/api/v1")
            .wrap(from_fn(idempotency))
            .service(auth::token)
            .service(auth::logout)
            .service(auth::me)
            .service(auth::change_password)
            .service(organization::get_organization)
            .service(organization::update_organization)
            .service(properties::create_property)
            .service(properties::list_properties)
            .service(properties::get_property)
            .service(properties::update_property)
            .service(users::create_user)
            .service(users::list_users)
            .service(users::get_user)
            .service(users::update_user)
            .service(users::disable_user)
            .service(users::enable_user)
            .service(users::reset_password)
            .service(clients::create_client)
            .service(clients::list_clients)
            .service(clients::get_client)
            .service(clients::disable_client)
            .service(clients::enable_client)
            .service(clients::rotate_client_secret)
            .service(clients::set_client_grants)
            .service(guests::create_guest)
            .service(guests::list_guests)
            .service(guests::get_guest)
            .service(guests::update_guest)
            .service(guests::blacklist_guest)
            .service(guests::unblacklist_guest)
            .service(identity_documents::create_identity_document)
            .service(identity_documents::list_identity_documents)
            .service(identity_documents::get_identity_document)
            .service(identity_documents::delete_identity_document)
            .service(consents::record_consent)
            .service(consents::list_consents)
            .service(consents::consent_history)
            .service(merges::preview_merge)
            .service(merges::merge_guests)
            .service(merges::unmerge_guest)
            .service(merges::list_merges)
            .service(duplicates::scan_duplicates)
            .service(duplicates::list_candidates)
            .service(duplicates::dismiss_candidate)
            .service(imports::create_import)
            .service(imports::list_imports)
            .service(imports::get_import)
            .service(imports::get_import_report)
            .service(imports::create_preset)
            .service(imports::list_presets)
            .service(imports::get_preset)
            .service(imports::update_preset)
            .service(imports::delete_preset)
            .service(retention::get_policy)
            .service(retention::put_policy)
            .service(retention::run_policy)
            .service(privacy::export_guest)
            .service(privacy::erase_guest)
            .service(audit_events::list_audit_events)
            .service(inventory::create_room_type)
            .service(inventory::list_room_types)
            .service(inventory::update_room_type)
            .service(inventory::create_rate_plan)
            .service(inventory::list_rate_plans)
            .service(inventory::set_inventory_overrides)
            .service(inventory::get_availability)
            .service(reservations::create_reservation)
            .service(reservations::list_reservations)
            .service(reservations::get_reservation)
            .service(reservations::update_reservation)
            .service(reservations::cancel_reservation)
            .service(reservations::check_in)
            .service(reservations::check_out)
            .service(reservations::no_show)
            .service(reservations::walk)
            .service(reservations::list_revisions)
            .service(accounts::create_account)
            .service(accounts::list_accounts)
            .service(accounts::get_account)
            .service(accounts::update_account)
            .service(accounts::link_guest)
            .service(accounts::unlink_guest)
            .service(accounts::list_account_guests)
            .service(contract_templates::create_template)
            .service(contract_templates::list_templates)
            .service(contract_templates::list_variables)
            .service(contract_templates::get_template)
            .service(contract_templates::get_template_version)
            .service(contract_templates::update_template_version)
            .service(contract_templates::create_template_version)
            .service(contract_templates::publish_template_version)
            .service(contracts::create_contract)
            .service(contracts::list_contracts)
            .service(contracts::get_contract)
            .service(contracts::update_contract)
            .service(contracts::list_contract_versions)
            .service(contracts::submit_contract)
            .service(contracts::withdraw_contract)
            .service(contracts::activate_contract)
            .service(contracts::terminate_contract)
            .service(contracts::sign_contract)
            .service(contracts::amend_contract)
            .service(contracts::get_contract_document)
            .service(contracts::get_signed_document)
            .service(contracts::verify_contract)
            .service(contracts::get_contract_performance)
            .service(contract_alerts::list_alerts)
            .service(contract_alerts::scan_alerts)
            .service(contract_alerts::acknowledge_alert)
            .service(segments::create_segment)
            .service(segments::list_segments)
            .service(segments::list_fields)
            .service(segments::preview_rule)
            .service(segments::get_segment)
            .service(segments::update_segment)
            .service(segments::delete_segment)
            .service(segments::preview_segment)
            .service(segments::list_members)
            .service(segments::refresh_segment)
            .service(segments::export_segment)
            .service(insights::get_insights)
            .service(insights::get_settings)
            .service(insights::put_settings)
            .service(reports::guest_structure)
            .service(reports::channel_mix)
            .service(reports::spend_distribution)
            .service(reports::repeat_stay_rate)
            .service(reports::retention_cohorts)
            .service(reports::lifetime_value)
            .service(reports::churn_risk)
            .service(reports::loyalty_liability)
            .service(reports::dashboard)
            .service(reports::ticket_kpis)
            .service(reports::satisfaction)
            .service(reports::review_ratings)
            .service(surveys::create_template)
            .service(surveys::list_templates)
            .service(surveys::get_template)
            .service(surveys::update_template)
            .service(surveys::list_invitations)
            .service(surveys::get_public_survey)
            .service(surveys::answer_public_survey)
            .service(surveys::list_responses)
            .service(messages::create_template)
            .service(messages::list_templates)
            .service(messages::get_template)
            .service(messages::update_template)
            .service(messages::preview_template)
            .service(messages::list_variables)
            .service(messages::get_triggers)
            .service(messages::put_triggers)
            .service(messages::list_guest_messages)
            .service(campaigns::create_campaign)
            .service(campaigns::list_campaigns)
            .service(campaigns::get_campaign)
            .service(campaigns::update_campaign)
            .service(campaigns::schedule_campaign)
            .service(campaigns::unschedule_campaign)
            .service(campaigns::send_campaign)
            .service(campaigns::cancel_campaign)
            .service(campaigns::campaign_results)
            .service(campaigns::list_redemptions)
            .service(campaigns::record_receipt)
            .service(reviews::create_review)
            .service(reviews::list_reviews)
            .service(reviews::get_review)
            .service(reviews::reply_to_review)
            .service(tickets::get_sla_targets)
            .service(tickets::put_sla_targets)
            .service(tickets::scan_now)
            .service(tickets::create_ticket)
            .service(tickets::list_tickets)
            .service(tickets::get_ticket)
            .service(tickets::update_ticket)
            .service(tickets::assign_ticket)
            .service(tickets::acknowledge_ticket)
            .service(tickets::start_ticket)
            .service(tickets::resolve_ticket)
            .service(tickets::close_ticket)
            .service(tickets::reopen_ticket)
            .service(tickets::judge_malicious)
            .service(tickets::ticket_history)
            .service(tickets::create_comment)
            .service(tickets::list_comments)
            .service(tickets::list_notifications)
            .service(tickets::read_notification)
            .service(stays::list_guest_stays)
            .service(stays::get_stay_statistics)
            .service(channels::push_reservation)
            .service(ota::hotel_res_notif)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::update_webhook)
            .service(webhooks::list_deliveries)
            .service(loyalty::get_program)
            .service(loyalty::put_program)
            .service(loyalty::list_tiers)
            .service(loyalty::create_tier)
            .service(loyalty::update_tier)
            .service(loyalty::list_rewards)
            .service(loyalty::create_reward)
            .service(loyalty::update_reward)
            .service(membership::enrol)
            .service(membership::get_membership)
            .service(membership::change_member_tier)
            .service(membership::get_balance)
            .service(membership::list_entries)
            .service(membership::redeem)
            .service(membership::cancel_redemption)
            .service(membership::adjust)
            .service(membership::grant_bonus)
            .service(membership::reverse),
    );
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Storage(#[from] crm_storage::StorageError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("{0}")]
    Config(&'static str),
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "No such endpoint. The API lives under /api/v1; see /swagger-ui/.",
    ))
}

impl Application {
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let db = Database::connect(&settings.database_url, settings.db_pool_size)?;
        let replica = match &settings.read_database_url {
            None => db.clone(),
            Some(url)
                if db.backend() != Backend::Postgres
                    || Backend::from_url(url) != Backend::Postgres =>
            {
                return Err(StartupError::Config(
                    "HOTEL_CRM_READ_DATABASE_URL names a PostgreSQL streaming replica of a \
                     PostgreSQL DATABASE_URL; SQLite has no replicas",
                ))
            }
            Some(url) => Database::connect(url, settings.db_pool_size)?,
        };
        let started = std::time::Instant::now();
        let applied = web::block({
            let db = db.clone();
            move || migrations::run_pending(&db)
        })
        .await
        .map_err(|e| crm_storage::StorageError::Migration(e.to_string()))??;
        if !applied.is_empty() {
            log::info!(
                "applied {} migration(s) in {:?}",
                applied.len(),
                started.elapsed()
            );
        }
        {
            let (db, settings, now) = (db.clone(), settings.clone(), clock.now());
            web::block(move || crate::bootstrap::ensure_first_organization(&db, &settings, now))
                .await
                .map_err(|e| crm_storage::StorageError::Migration(e.to_string()))??;
        }
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| StartupError::Bind(settings.bind.clone(), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Bind(settings.bind.clone(), e))?
            .port();
        let cipher = DataCipher::with_previous(&settings.data_key, &settings.data_key_previous);
        if cipher.rotating() {
            log::warn!(
                "a data-key rotation is under way (HOTEL_CRM_DATA_KEY_PREVIOUS is set): run `hotel-crm jobs run reencrypt`, then remove the old key"
            );
        }
        let state = AppState {
            db,
            replica,
            jwt: JwtKeys::with_previous(&settings.jwt_secret, &settings.jwt_previous_secrets),
            cipher,
            clock,
            login_limiter: Arc::new(LoginLimiter::new(chrono::Duration::minutes(15), 5, 30)),
            public_limiter: Arc::new(LoginLimiter::new(chrono::Duration::minutes(10), 20, 60)),
            login_rate: Arc::new(RateLimiter::new(settings.login_rate_per_min)),
            channel_rate: Arc::new(RateLimiter::new(settings.channel_rate_per_min)),
            principal_cache: Arc::new(PrincipalCache::new(std::time::Duration::from_millis(
                settings.auth_cache_ms,
            ))),
            config_cache: Arc::new(ConfigCache::new(std::time::Duration::from_millis(
                settings.config_cache_ms,
            ))),
            settings: Arc::new(settings),
        };
        crate::webhooks::spawn_worker(
            state.clone(),
            std::time::Duration::from_millis(state.settings.webhook_poll_ms),
            std::time::Duration::from_millis(state.settings.webhook_retry_base_ms),
        );
        crate::messaging::spawn_worker(
            state.clone(),
            std::time::Duration::from_millis(state.settings.webhook_poll_ms),
        );
        if state.settings.jobs_interval_secs > 0 {
            crate::jobs::spawn_scheduler(
                state.clone(),
                std::time::Duration::from_secs(state.settings.jobs_interval_secs),
            );
        }
        let spec = crate::openapi::spec();
        let data = web::Data::new(state.clone());
        let workers = state.settings.workers;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::bad_request("invalid_query", format!("Invalid query string: {err}"))
                        .into()
                }))
                .app_data(web::PathConfig::default().error_handler(|_, _| {
                    ApiError::new(
                        actix_web::http::StatusCode::NOT_FOUND,
                        "not_found",
                        "Not found.",
                    )
                    .into()
                }))
                .wrap(from_fn(crate::http::security::security_headers))
                .wrap(from_fn(request_log))
                .into_utoipa_app()
                .configure(routes)
                .into_app()
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .url("/api-docs/openapi.json", spec.clone()),
                )
                .default_service(web::to(unknown_route))
        })
        .shutdown_timeout(30)
        .listen(listener)
        .map_err(|e| StartupError::Bind(state.settings.bind.clone(), e))?;
        if let Some(w) = workers {
            server = server.workers(w);
        }
        Ok(Application {
            port,
            server: server.run(),
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT; in-flight requests get up to 30 s to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
