//! `GET /v1/dealerships/{dealership_id}/inbound-emails`: lists received mail and what became of it.

rylie_app::http_function!(rylie_app::routes::inbound_emails::list);
