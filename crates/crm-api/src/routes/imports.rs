//! Guest imports (Excel 数据迁移) through the API: a multipart upload
//! becomes a job that runs in the background; its status, counters and
//! problem report are read back. Saved column mappings are presets.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, RequestId};
use crate::import::{self, Format, MappingEntry, Options};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::values::required_text;
use crm_domain::{Errors, FieldError};
use crm_storage::imports::{self as store, ImportJob, Preset};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-000000000a01", "status": "completed", "dry_run": false,
    "file_name": "guests-2019.csv", "format": "csv", "encoding": "GB18030",
    "mapping": [{"header": "姓名", "field": "full_name"}, {"header": "手机号", "field": "phone"}],
    "preset_id": null, "source": "api", "total_bytes": 1048576, "processed_bytes": 1048576,
    "progress_percent": 100, "rows_read": 9800, "created_count": 9750, "skipped_count": 30,
    "failed_count": 20, "error": null, "report_url": "/api/v1/imports/019ab1c2-0000-7000-8000-000000000a01/report",
    "created_by": "019ab1c2-0000-7000-8000-000000000001", "created_at": "2026-12-02T08:30:00Z",
    "started_at": "2026-12-02T08:30:01Z", "finished_at": "2026-12-02T08:30:09Z"
}))]
pub struct ImportJobDto {
    pub id: String,
    /// queued, running, completed, failed
    pub status: String,
    /// Validated and counted only: nothing but the report was written.
    pub dry_run: bool,
    pub file_name: String,
    pub format: Format,
    /// The text encoding a CSV was read in (UTF-8, GB18030, UTF-16LE…).
    pub encoding: Option<String>,
    /// How each column was read (once the header was).
    pub mapping: Option<Vec<MappingEntry>>,
    pub preset_id: Option<String>,
    /// `api` or `cli`.
    pub source: String,
    pub total_bytes: i64,
    pub processed_bytes: i64,
    pub progress_percent: i64,
    /// Non-empty data rows read so far.
    pub rows_read: i32,
    /// Guests created (a dry run: that would be).
    pub created_count: i32,
    /// Rows imported before (same source key) or repeated in the file.
    pub skipped_count: i32,
    /// Rows with problems: reported, nothing of them written.
    pub failed_count: i32,
    /// Why the job failed as a whole (unreadable file, unusable header).
    pub error: Option<String>,
    /// The per-row problem report (CSV).
    pub report_url: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn job_dto(j: ImportJob) -> ImportJobDto {
    ImportJobDto {
        report_url: format!("/api/v1/imports/{}/report", j.id),
        progress_percent: if j.total_bytes > 0 {
            (j.processed_bytes * 100 / j.total_bytes).clamp(0, 100)
        } else {
            100
        },
        mapping: j
            .mapping
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok()),
        format: if j.format == "xlsx" {
            Format::Xlsx
        } else {
            Format::Csv
        },
        id: j.id,
        status: j.status,
        dry_run: j.dry_run,
        file_name: j.file_name,
        encoding: j.encoding,
        preset_id: j.preset_id,
        source: j.source,
        total_bytes: j.total_bytes,
        processed_bytes: j.processed_bytes,
        rows_read: j.rows_read,
        created_count: j.created_count,
        skipped_count: j.skipped_count,
        failed_count: j.failed_count,
        error: j.error,
        created_by: j.created_by,
        created_at: j.created_at,
        started_at: j.started_at,
        finished_at: j.finished_at,
    }
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// The CSV or XLSX file (first sheet).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `true`: validate and count only.
    pub dry_run: Option<bool>,
    /// A saved mapping to apply (import preset id).
    pub preset_id: Option<String>,
    /// JSON array of `{"header", "field"}` overriding recognition (and the preset).
    pub mapping: Option<String>,
}

fn upload_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("hotel-crm-imports")
}

/// Import guests from a CSV or XLSX file.
///
/// `multipart/form-data` with the `file` and optionally `dry_run`,
/// `preset_id` and `mapping`. Common Chinese and English headers are
/// recognised (姓名, 手机号, 邮箱, 证件号码, 生日, name, phone, e-mail…);
/// CSV may be UTF-8 (with or without BOM), UTF-16 or GBK/GB18030. Answers
/// 202 with the job at once; follow `GET /imports/{id}`. Rows with
/// problems are reported and not written; a row imported before (same
/// external id, or the same content) is skipped, so a re-upload creates
/// nothing twice.
#[utoipa::path(
    operation_id = "createImport",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Accepted; the job.", body = ImportJobDto),
        (status = 413, description = "Larger than HOTEL_CRM_IMPORT_MAX_BYTES.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports")]
pub async fn create_import(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Upload the file as multipart/form-data.",
        ));
    }
    let mut form = Multipart::new(req.headers(), payload);
    let max = state.settings.import_max_bytes;
    let dir = upload_dir();
    std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
    let upload_id = crm_domain::id::new_id().to_string();
    let path = dir.join(format!("{upload_id}.upload"));
    let mut file_name: Option<String> = None;
    let mut size: u64 = 0;
    let mut dry_run = false;
    let mut preset_id: Option<String> = None;
    let mut mapping: Option<String> = None;
    let malformed =
        || ApiError::bad_request("malformed_multipart", "The multipart body cannot be read.");
    let outcome: Result<(), ApiError> = async {
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|_| malformed())?;
            let name = field.name().unwrap_or_default().to_string();
            match name.as_str() {
                "file" => {
                    let original = field
                        .content_disposition()
                        .and_then(|d| d.get_filename())
                        .unwrap_or("upload")
                        .to_string();
                    let mut out = std::fs::File::create(&path).map_err(ApiError::internal)?;
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(|_| malformed())?;
                        size += chunk.len() as u64;
                        if size > max {
                            return Err(ApiError::new(
                                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                                "payload_too_large",
                                format!("Imports are at most {max} bytes."),
                            ));
                        }
                        out.write_all(&chunk).map_err(ApiError::internal)?;
                    }
                    file_name = Some(original);
                }
                "dry_run" | "preset_id" | "mapping" => {
                    let mut text = Vec::new();
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(|_| malformed())?;
                        if text.len() + chunk.len() > 64 * 1024 {
                            return Err(ApiError::field(&name, "too_long", "at most 64 KiB"));
                        }
                        text.extend_from_slice(&chunk);
                    }
                    let text = String::from_utf8(text)
                        .map_err(|_| ApiError::field(&name, "invalid", "not UTF-8 text"))?
                        .trim()
                        .to_string();
                    match name.as_str() {
                        "dry_run" => {
                            dry_run = match text.as_str() {
                                "true" | "1" => true,
                                "false" | "0" | "" => false,
                                _ => {
                                    return Err(ApiError::field(
                                        "dry_run",
                                        "invalid_boolean",
                                        "true or false",
                                    ))
                                }
                            }
                        }
                        "preset_id" => preset_id = Some(text),
                        _ => mapping = Some(text),
                    }
                }
                other => {
                    return Err(ApiError::field(
                        other,
                        "unknown_field",
                        "the form has file, dry_run, preset_id and mapping",
                    ))
                }
            }
        }
        Ok(())
    }
    .await;
    let cleanup = |e: ApiError| {
        let _ = std::fs::remove_file(&path);
        e
    };
    outcome.map_err(cleanup)?;
    let Some(file_name) = file_name else {
        return Err(cleanup(ApiError::field(
            "file",
            "required",
            "upload a file",
        )));
    };
    let mut overrides = Vec::new();
    let org = auth.org_id.clone();
    if let Some(p) = &preset_id {
        let id = uuid::Uuid::parse_str(p)
            .map(|u| u.to_string())
            .map_err(|_| {
                cleanup(ApiError::field(
                    "preset_id",
                    "unknown_preset",
                    "no such preset",
                ))
            })?;
        let (org2, id2) = (org.clone(), id.clone());
        let preset = state
            .read(move |conn| store::find_preset(conn, &org2, &id2))
            .await
            .map_err(|_| {
                cleanup(ApiError::field(
                    "preset_id",
                    "unknown_preset",
                    "no such preset",
                ))
            })?;
        let entries: Vec<MappingEntry> =
            serde_json::from_str(&preset.mapping).map_err(|e| cleanup(ApiError::internal(e)))?;
        overrides = import::overrides_of(&entries);
        preset_id = Some(id);
    }
    if let Some(m) = &mapping {
        let entries: Vec<MappingEntry> = serde_json::from_str(m).map_err(|_| {
            cleanup(ApiError::field(
                "mapping",
                "invalid_mapping",
                "a JSON array of {\"header\", \"field\"}",
            ))
        })?;
        overrides.extend(import::overrides_of(&entries));
    }
    let format = Format::sniff(&path).map_err(|e| cleanup(ApiError::internal(e)))?;
    let now = state.clock.now();
    let job = import::new_job(
        &org,
        &auth.principal.id,
        &file_name,
        format,
        size,
        dry_run,
        preset_id,
        "api",
        now,
    );
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = job.clone();
    state
        .write(move |conn| {
            store::insert_job(conn, &stored)?;
            actor.record(conn, now, "import.created", "import_job", &stored.id, &[])?;
            Ok(())
        })
        .await
        .map_err(cleanup)?;
    let (db, cipher, clock) = (state.db.clone(), state.cipher.clone(), state.clock.clone());
    let mut running = job.clone();
    std::thread::Builder::new()
        .name("hotel-crm-import".into())
        .spawn(move || {
            let result = import::run(
                &db,
                &cipher,
                &mut running,
                &path,
                &Options { overrides },
                || clock.now(),
                &mut |_| {},
            );
            if let Err(e) = result {
                log::error!("import {} stopped: {}", running.id, e.detail);
            }
            let _ = std::fs::remove_file(&path);
        })
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{}", job.id)))
        .json(job_dto(job)))
}

/// List imports, oldest first (`sort=-created_at` for newest).
#[utoipa::path(
    operation_id = "listImports",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(crate::http::PageQuery),
    responses((status = 200, description = "A page of import jobs.", body = ListResponse<ImportJobDto>))
)]
#[get("/imports")]
pub async fn list_imports(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    q: web::Query<crate::http::PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let page = state
        .read(move |conn| store::list_jobs(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, job_dto)))
}

/// Get an import: status, progress and counters.
#[utoipa::path(
    operation_id = "getImport",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("import_id" = String, Path, description = "Import id")),
    responses((status = 200, description = "The job.", body = ImportJobDto))
)]
#[get("/imports/{import_id}")]
pub async fn get_import(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "import_not_found", "import")?;
    let org = auth.org_id.clone();
    let job = state
        .read(move |conn| store::find_job(conn, &org, &id))
        .await
        .map_err(or_not_found("import_not_found", "import"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(job_dto(job)))
}

/// Download an import's problem report (CSV: row, column, code, message).
///
/// Rows are the file's line numbers (the header is row 1). The report names
/// columns and problems, never the values.
#[utoipa::path(
    operation_id = "getImportReport",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("import_id" = String, Path, description = "Import id")),
    responses((status = 200, description = "The report.", body = String, content_type = "text/csv"))
)]
#[get("/imports/{import_id}/report")]
pub async fn get_import_report(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "import_not_found", "import")?;
    let org = auth.org_id.clone();
    let db = state.db.clone();
    let body = web::block(move || -> Result<Vec<u8>, ApiError> {
        db.read(|conn| store::find_job(conn, &org, &id))
            .map_err(|e| or_not_found("import_not_found", "import")(e.into()))?;
        let mut out = csv::Writer::from_writer(Vec::new());
        import::write_report(&db, &org, &id, &mut out)?;
        out.into_inner()
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"import-{}-report.csv\"",
                path.as_str()
            ),
        ))
        .body(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Old PMS export", "mapping": [
    {"header": "客户编号", "field": "external_id"}, {"header": "联系方式", "field": "phone"}]}))]
pub struct PresetWrite {
    pub name: String,
    /// Columns whose meaning recognition would miss or get wrong.
    pub mapping: Vec<MappingEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetPatch {
    pub name: Option<String>,
    pub mapping: Option<Vec<MappingEntry>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresetDto {
    pub id: String,
    pub name: String,
    pub mapping: Vec<MappingEntry>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn preset_dto(p: Preset) -> PresetDto {
    PresetDto {
        mapping: serde_json::from_str(&p.mapping).unwrap_or_default(),
        id: p.id,
        name: p.name,
        version: p.version,
        created_by: p.created_by,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn check_preset(name: &str, mapping: &[MappingEntry]) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(name, 100));
    if mapping.is_empty() || mapping.len() > 200 {
        errors.push(FieldError::new(
            "mapping",
            "invalid_length",
            "1 to 200 columns",
        ));
    }
    for (i, m) in mapping.iter().enumerate() {
        if m.header.trim().is_empty() || m.header.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("mapping[{i}].header"),
                "invalid_length",
                "1 to 200 characters",
            ));
        }
        if mapping[..i]
            .iter()
            .any(|o| o.header.trim() == m.header.trim())
        {
            errors.push(FieldError::new(
                format!("mapping[{i}].header"),
                "duplicate",
                "each header once",
            ));
        }
    }
    errors.finish()?;
    let json = serde_json::to_string(mapping).map_err(ApiError::internal)?;
    Ok((name.unwrap_or_default(), json))
}

fn preset_response(status: actix_web::http::StatusCode, p: Preset) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(p.version)));
    if status == actix_web::http::StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/import-presets/{}", p.id)));
    }
    res.json(preset_dto(p))
}

fn name_taken(e: crm_storage::StorageError) -> ApiError {
    match e {
        crm_storage::StorageError::Duplicate { .. } => {
            ApiError::field("name", "duplicate", "a preset of that name exists")
        }
        other => other.into(),
    }
}

/// Save a column mapping as a preset.
#[utoipa::path(
    operation_id = "createImportPreset",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = PresetWrite,
    responses((status = 201, description = "Created.", body = PresetDto))
)]
#[post("/import-presets")]
pub async fn create_preset(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<PresetWrite>,
) -> ApiResult<HttpResponse> {
    let (name, mapping) = check_preset(&body.0.name, &body.0.mapping)?;
    let now = state.clock.now();
    let preset = Preset {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        name,
        mapping,
        version: 1,
        created_by: auth.principal.id.clone(),
        created_at: now,
        updated_at: now,
    };
    let stored = preset.clone();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    state
        .write(move |conn| {
            store::insert_preset(conn, &stored).map_err(name_taken)?;
            actor.record(
                conn,
                now,
                "import_preset.created",
                "import_preset",
                &stored.id,
                &[],
            )
        })
        .await?;
    Ok(preset_response(
        actix_web::http::StatusCode::CREATED,
        preset,
    ))
}

/// List import presets.
#[utoipa::path(
    operation_id = "listImportPresets",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(crate::http::PageQuery),
    responses((status = 200, description = "A page of presets.", body = ListResponse<PresetDto>))
)]
#[get("/import-presets")]
pub async fn list_presets(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    q: web::Query<crate::http::PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let page = state
        .read(move |conn| store::list_presets(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, preset_dto)))
}

/// Get an import preset.
#[utoipa::path(
    operation_id = "getImportPreset",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("preset_id" = String, Path, description = "Preset id")),
    responses((status = 200, description = "The preset.", body = PresetDto))
)]
#[get("/import-presets/{preset_id}")]
pub async fn get_preset(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "preset_not_found", "import preset")?;
    let org = auth.org_id.clone();
    let p = state
        .read(move |conn| store::find_preset(conn, &org, &id))
        .await
        .map_err(or_not_found("preset_not_found", "import preset"))?;
    Ok(preset_response(actix_web::http::StatusCode::OK, p))
}

/// Change an import preset (merge-patch; `If-Match` for safety).
#[utoipa::path(
    operation_id = "updateImportPreset",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("preset_id" = String, Path, description = "Preset id")),
    request_body = PresetPatch,
    responses((status = 200, description = "Updated.", body = PresetDto))
)]
#[patch("/import-presets/{preset_id}")]
pub async fn update_preset(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<PresetPatch>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "preset_not_found", "import preset")?;
    let org = auth.org_id.clone();
    let now = state.clock.now();
    let patch = body.0;
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let p = state
        .write(move |conn| {
            let current = store::find_preset(conn, &org, &id)
                .map_err(|e| or_not_found("preset_not_found", "import preset")(e.into()))?;
            let expected = if_match.check(current.version)?;
            let entries: Vec<MappingEntry> = match patch.mapping {
                Some(m) => m,
                None => serde_json::from_str(&current.mapping).map_err(ApiError::internal)?,
            };
            let (name, mapping) =
                check_preset(patch.name.as_deref().unwrap_or(&current.name), &entries)?;
            let (current_name, current_mapping) = (current.name.clone(), current.mapping.clone());
            let next = Preset {
                name,
                mapping,
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            store::update_preset(conn, &next, expected).map_err(name_taken)?;
            let changed: Vec<&str> = [
                ("name", next.name != current_name),
                ("mapping", next.mapping != current_mapping),
            ]
            .into_iter()
            .filter_map(|(f, c)| c.then_some(f))
            .collect();
            actor.record(
                conn,
                now,
                "import_preset.updated",
                "import_preset",
                &next.id,
                &changed,
            )?;
            Ok(next)
        })
        .await?;
    Ok(preset_response(actix_web::http::StatusCode::OK, p))
}

/// Delete an import preset (jobs that used it keep their mapping).
#[utoipa::path(
    operation_id = "deleteImportPreset",
    tag = "imports",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("preset_id" = String, Path, description = "Preset id")),
    responses((status = 204, description = "Deleted."))
)]
#[delete("/import-presets/{preset_id}")]
pub async fn delete_preset(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "preset_not_found", "import preset")?;
    let org = auth.org_id.clone();
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    state
        .write(move |conn| {
            store::delete_preset(conn, &org, &id)
                .map_err(|e| or_not_found("preset_not_found", "import preset")(e.into()))?;
            actor.record(
                conn,
                now,
                "import_preset.deleted",
                "import_preset",
                &id,
                &[],
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
