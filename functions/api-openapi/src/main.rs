//! `GET /v1/openapi.json`: this API as an OpenAPI 3.1 document.

rylie_app::http_function!(rylie_app::routes::openapi::get);
