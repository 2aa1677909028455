//! HTTP routes, one module per area, merged here; and the OpenAPI document
//! generated from their annotations.

pub mod auth;
pub mod buffer;
pub mod e2e;
pub mod events;
pub mod files;
pub mod ops;
pub mod page;
pub mod shares;
pub mod user;
pub mod web;

use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(user::router())
        .merge(files::router())
        .merge(buffer::router())
        .merge(e2e::router())
        .merge(events::router())
        .merge(shares::router())
        .merge(page::router())
        .merge(ops::router())
        .merge(web::router())
}

/// The OpenAPI description of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Cloud Buffer", description = "Self-hosted clipboard and file buffer. Errors always have the shape `{\"error\":{\"code\",\"message\"}}`."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::pair, auth::create_pairing,
        auth::list_devices, auth::revoke_device,
        user::me, user::stats, user::admin_stats,
        files::upload_multipart, files::upload_raw, files::list_files, files::get_file, files::file_content,
        files::delete_file,
        buffer::put_buffer, buffer::get_buffer, buffer::clear_buffer, buffer::list_clips, buffer::get_clip,
        buffer::clip_content, buffer::delete_clip, events::connect, e2e::get_key, e2e::put_key,
        shares::create_share, shares::list_shares, shares::revoke_share, shares::raw, shares::raw_with_form,
        shares::preview, shares::qr_svg, shares::qr_png, page::show, page::submit,
        ops::healthz, ops::prometheus, ops::openapi,
    ),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}
