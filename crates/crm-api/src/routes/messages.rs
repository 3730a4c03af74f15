//! Message templates (全周期沟通) per trigger, channel and language, their
//! preview, and which triggers each property sends.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, RequestId,
};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::message::{
    render, sample_values, validate_template, variable_allowed, MessageChannel, MessageTrigger,
    MESSAGE_VARIABLES,
};
use crm_domain::values::required_text;
use crm_domain::{Errors, FieldError};
use crm_storage::messages::{self as store, MessageTemplate, TemplateFilter, TriggerSetting};
use crm_storage::{properties, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "到店前提醒 Pre-arrival", "trigger": "pre_arrival", "channel": "sms", "language": "zh",
    "body": "{{guest.display_name}}您好，您预订的{{property.name}}将于{{reservation.arrival}}入住，确认号{{reservation.confirmation_number}}。"
}))]
pub struct MessageTemplateWrite {
    pub name: String,
    pub trigger: MessageTrigger,
    pub channel: MessageChannel,
    /// `zh`, `en`, `zh-Hant`, `ja` …: the guest's language picks the template.
    pub language: String,
    /// E-mail and app push only.
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    /// Default `true`.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageTemplateDto {
    pub id: String,
    pub name: String,
    pub trigger: MessageTrigger,
    pub channel: MessageChannel,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MessageTemplate> for MessageTemplateDto {
    fn from(t: MessageTemplate) -> Self {
        MessageTemplateDto {
            id: t.id,
            name: t.name,
            trigger: t.trigger,
            channel: t.channel,
            language: t.language,
            subject: t.subject,
            body: t.body,
            active: t.active,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn respond(status: StatusCode, t: MessageTemplate) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(t.version)));
    if status == StatusCode::CREATED {
        res.insert_header((
            header::LOCATION,
            format!("/api/v1/message-templates/{}", t.id),
        ));
    }
    res.json(MessageTemplateDto::from(t))
}

/// The checked name and language of a template write.
fn check(w: &MessageTemplateWrite) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(&w.name, 200));
    let language = w.language.trim();
    let valid_language = (2..=20).contains(&language.len())
        && language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_language {
        errors.push(FieldError::new(
            "language",
            "invalid_language",
            "a language tag such as zh, en or zh-Hant",
        ));
    }
    if let Err(e) = validate_template(w.trigger, w.channel, w.subject.as_deref(), &w.body) {
        for f in e.into_field_errors() {
            errors.push(f);
        }
    }
    errors.finish()?;
    Ok((name.unwrap_or_default(), language.to_string()))
}

fn taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => ApiError::conflict(
            "template_exists",
            "There is already a template for this trigger, channel and language.",
        ),
        other => other.into(),
    }
}

fn load(conn: &mut DbConnection, org: &str, id: &str) -> Result<MessageTemplate, ApiError> {
    store::find_template(conn, org, id)
        .map_err(|e| or_not_found("message_template_not_found", "message template")(e.into()))
}

/// Create a message template. Unknown variables (for its trigger) are
/// refused, naming the field.
#[utoipa::path(
    operation_id = "createMessageTemplate",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = MessageTemplateWrite,
    responses((status = 201, description = "Created.", body = MessageTemplateDto),
        (status = 409, description = "One already exists for this trigger, channel and language (`template_exists`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/message-templates")]
pub async fn create_template(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<MessageTemplateWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let (name, language) = check(&w)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let t = MessageTemplate {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                name,
                trigger: w.trigger,
                channel: w.channel,
                language,
                subject: w.subject,
                body: w.body,
                active: w.active,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::insert_template(conn, &t).map_err(taken)?;
            actor.record(
                conn,
                now,
                "message_template.created",
                "message_template",
                &t.id,
                &[],
            )?;
            Ok(t)
        })
        .await?;
    Ok(respond(StatusCode::CREATED, t))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    pub trigger: Option<MessageTrigger>,
    pub channel: Option<MessageChannel>,
    pub language: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List message templates.
#[utoipa::path(
    operation_id = "listMessageTemplates",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(TemplateParams),
    responses((status = 200, description = "A page of templates.", body = ListResponse<MessageTemplateDto>))
)]
#[get("/message-templates")]
pub async fn list_templates(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<TemplateParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = TemplateFilter {
        trigger: q.trigger,
        channel: q.channel,
        language: q.language.clone(),
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list_templates(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, MessageTemplateDto::from)))
}

/// Get a message template.
#[utoipa::path(
    operation_id = "getMessageTemplate",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("template_id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template.", body = MessageTemplateDto))
)]
#[get("/message-templates/{template_id}")]
pub async fn get_template(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "message_template_not_found", "message template")?;
    let org = auth.org_id.clone();
    let t = state.read(move |conn| load(conn, &org, &id)).await?;
    Ok(respond(StatusCode::OK, t))
}

/// Change a message template (JSON merge patch; trigger and channel are
/// fixed).
#[utoipa::path(
    operation_id = "updateMessageTemplate",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("template_id" = String, Path, description = "Template id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = MessageTemplateWrite, content_type = "application/merge-patch+json", description = "Any subset of the fields."),
    responses((status = 200, description = "Updated.", body = MessageTemplateDto))
)]
#[patch("/message-templates/{template_id}")]
pub async fn update_template(
    auth: Auth<roles::Marketers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "message_template_not_found", "message template")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let base = MessageTemplateWrite {
                name: current.name.clone(),
                trigger: current.trigger,
                channel: current.channel,
                language: current.language.clone(),
                subject: current.subject.clone(),
                body: current.body.clone(),
                active: current.active,
            };
            let w: MessageTemplateWrite = apply_merge_patch(&base, &body.0)?;
            if w.trigger != current.trigger || w.channel != current.channel {
                return Err(ApiError::field(
                    "trigger",
                    "immutable",
                    "trigger and channel are fixed; create another template",
                ));
            }
            let (name, language) = check(&w)?;
            let next = MessageTemplate {
                name,
                language,
                subject: w.subject,
                body: w.body,
                active: w.active,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            store::update_template(conn, &next, expected).map_err(taken)?;
            actor.record(
                conn,
                now,
                "message_template.updated",
                "message_template",
                &next.id,
                &["body"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(respond(StatusCode::OK, t))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"values": {"guest.display_name": "Anna Smith"}}))]
pub struct PreviewRequest {
    /// Values to use instead of the samples, by variable name.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewDto {
    pub subject: Option<String>,
    pub body: String,
}

/// Render a template with sample data (and any values given).
#[utoipa::path(
    operation_id = "previewMessageTemplate",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("template_id" = String, Path, description = "Template id")),
    request_body = PreviewRequest,
    responses((status = 200, description = "The rendered message.", body = PreviewDto))
)]
#[post("/message-templates/{template_id}/preview")]
pub async fn preview_template(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<PreviewRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "message_template_not_found", "message template")?;
    let org = auth.org_id.clone();
    let t = state.read(move |conn| load(conn, &org, &id)).await?;
    let mut values = sample_values(t.trigger);
    let mut errors = Errors::new();
    for (k, v) in body.0.values {
        if !variable_allowed(t.trigger, &k) {
            errors.push(FieldError::new(
                format!("values.{k}"),
                "unknown_variable",
                "not a variable of this template's trigger",
            ));
        } else if v.chars().count() > 500 {
            errors.push(FieldError::new(
                format!("values.{k}"),
                "too_long",
                "at most 500 characters",
            ));
        } else {
            values.insert(k, v);
        }
    }
    errors.finish()?;
    Ok(HttpResponse::Ok().json(PreviewDto {
        subject: t.subject.as_deref().map(|s| render(s, &values)),
        body: render(&t.body, &values),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariableDto {
    pub name: &'static str,
    pub description: &'static str,
    pub sample: &'static str,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VariableParams {
    /// Only the variables this trigger's messages may use.
    pub trigger: Option<MessageTrigger>,
}

/// The variables message templates may use.
#[utoipa::path(
    operation_id = "listMessageVariables",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(VariableParams),
    responses((status = 200, description = "The variables.", body = Vec<VariableDto>))
)]
#[get("/message-variables")]
pub async fn list_variables(
    _auth: Auth<roles::Staff>,
    q: web::Query<VariableParams>,
) -> ApiResult<HttpResponse> {
    let vars: Vec<VariableDto> = MESSAGE_VARIABLES
        .iter()
        .filter(|(name, _, _)| q.trigger.is_none_or(|t| variable_allowed(t, name)))
        .map(|(name, description, sample)| VariableDto {
            name,
            description,
            sample,
        })
        .collect();
    Ok(HttpResponse::Ok().json(vars))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSettingDto {
    pub trigger: MessageTrigger,
    pub enabled: bool,
    /// Pre-arrival (default 3) and points expiring (default 30): days before.
    #[serde(default)]
    pub days_before: Option<i32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"triggers": [{"trigger": "pre_arrival", "enabled": true, "days_before": 2}, {"trigger": "birthday", "enabled": false}]}))]
pub struct TriggerSettings {
    /// Triggers left out keep their default (on).
    pub triggers: Vec<TriggerSettingDto>,
}

fn settings_dto(s: Vec<TriggerSetting>) -> TriggerSettings {
    TriggerSettings {
        triggers: s
            .into_iter()
            .map(|s| TriggerSettingDto {
                trigger: s.trigger,
                enabled: s.enabled,
                days_before: s.days_before,
            })
            .collect(),
    }
}

fn property_of(conn: &mut DbConnection, org: &str, id: &str) -> Result<(), ApiError> {
    properties::find(conn, org, id)
        .map(|_| ())
        .map_err(|e| or_not_found("property_not_found", "property")(e.into()))
}

/// Which messages a property sends.
#[utoipa::path(
    operation_id = "getPropertyMessageTriggers",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("property_id" = String, Path, description = "Property id")),
    responses((status = 200, description = "Every trigger's setting.", body = TriggerSettings))
)]
#[get("/properties/{property_id}/message-triggers")]
pub async fn get_triggers(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "property_not_found", "property")?;
    let org = auth.org_id.clone();
    let s = state
        .read(move |conn| {
            property_of(conn, &org, &id)?;
            Ok::<_, ApiError>(store::triggers_of(conn, &org, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings_dto(s)))
}

/// Switch a property's messages on or off, and set how many days before.
#[utoipa::path(
    operation_id = "putPropertyMessageTriggers",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id")),
    request_body = TriggerSettings,
    responses((status = 200, description = "Every trigger's setting.", body = TriggerSettings))
)]
#[put("/properties/{property_id}/message-triggers")]
pub async fn put_triggers(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TriggerSettings>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "property_not_found", "property")?;
    let mut errors = Errors::new();
    let mut seen = Vec::new();
    for (i, t) in body.0.triggers.iter().enumerate() {
        let field = format!("triggers[{i}]");
        if t.trigger == MessageTrigger::Campaign {
            errors.push(FieldError::new(
                &field,
                "not_a_trigger",
                "campaigns are sent by campaigns",
            ));
        }
        if seen.contains(&t.trigger) {
            errors.push(FieldError::new(&field, "duplicate", "listed twice"));
        }
        seen.push(t.trigger);
        let takes_days = matches!(
            t.trigger,
            MessageTrigger::PreArrival | MessageTrigger::PointsExpiring
        );
        match t.days_before {
            Some(_) if !takes_days => {
                errors.push(FieldError::new(
                    format!("{field}.days_before"),
                    "not_allowed",
                    "only pre_arrival and points_expiring",
                ));
            }
            Some(d) if !(1..=90).contains(&d) => {
                errors.push(FieldError::new(
                    format!("{field}.days_before"),
                    "out_of_range",
                    "1 to 90",
                ));
            }
            _ => {}
        }
    }
    errors.finish()?;
    let wanted = body.0.triggers;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let s = state
        .write(move |conn| {
            property_of(conn, &org, &id)?;
            let mut current = store::triggers_of(conn, &org, &id)?;
            for w in &wanted {
                if let Some(c) = current.iter_mut().find(|c| c.trigger == w.trigger) {
                    c.enabled = w.enabled;
                    if w.days_before.is_some() {
                        c.days_before = w.days_before;
                    }
                }
            }
            store::replace_triggers(conn, &org, &id, &current, now)?;
            actor.record(
                conn,
                now,
                "property.message_triggers_updated",
                "property",
                &id,
                &["message_triggers"],
            )?;
            Ok(current)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings_dto(s)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessageDto {
    pub id: String,
    pub trigger: String,
    pub channel: Option<String>,
    pub template_id: Option<String>,
    pub property_id: Option<String>,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// `queued`, `sent`, `failed` or `suppressed`.
    pub status: String,
    /// Why it was not sent: `no_template`, `no_address`, `no_consent`,
    /// `frequency_cap`, `guest_excluded`.
    pub reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn outbox_dto(m: store::OutboxMessage) -> OutboxMessageDto {
    OutboxMessageDto {
        id: m.id,
        trigger: m.trigger_kind,
        channel: m.channel,
        template_id: m.template_id,
        property_id: m.property_id,
        recipient: m.recipient,
        subject: m.subject,
        body: m.body,
        status: m.status,
        reason: m.reason,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at.and_utc(),
        sent_at: m.sent_at.map(|t| t.and_utc()),
        last_error: m.last_error,
        created_at: m.created_at.and_utc(),
    }
}

/// The messages sent (or not, and why) to a guest.
#[utoipa::path(
    operation_id = "listGuestMessages",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "Guest id"), crate::http::PageQuery),
    responses((status = 200, description = "A page of messages.", body = ListResponse<OutboxMessageDto>))
)]
#[get("/guests/{guest_id}/messages")]
pub async fn list_guest_messages(
    auth: Auth<roles::Desk>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<crate::http::PageQuery>,
) -> ApiResult<HttpResponse> {
    let guest = path_id(&path, "guest_not_found", "guest")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            crate::routes::guests::load_guest(conn, &org, &guest)?;
            Ok::<_, ApiError>(store::messages_of_guest(conn, &org, &guest, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, outbox_dto)))
}
