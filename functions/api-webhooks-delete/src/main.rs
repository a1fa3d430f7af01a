//! `DELETE /v1/dealerships/{dealership_id}/webhooks/{webhook_id}`: deletes a webhook endpoint and its delivery log.

rylie_app::http_function!(rylie_app::routes::webhooks::delete);
