//! The answers every operation can give because of how it is called, added to the
//! OpenAPI document from what each operation declares: a bearer token (401, 403),
//! query or path parameters (400, 404), a JSON or multipart body (400, 413, 415, 422),
//! and a server fault (500). Handlers document only what is theirs (a 409 for a
//! conflict, a 429 for a locked account); `scripts/api-conformance` checks the whole
//! document against the running server.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// Registers the bearer scheme and adds the common answers to every operation.
pub(super) struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // Member servers: `Authorization: JieyuePeer <jieyue-peer-auth+jws>`.
        components.add_security_scheme(
            "peer",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "JieyuePeer <token>: a jieyue-peer-auth+jws signed by an enrolled member's identity key",
            ))),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_answers(operation);
            }
        }
    }
}

fn add_common_answers(operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let parameters_in = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|parameter| matches!(parameter, RefOr::T(p) if p.parameter_in == place))
    };
    let (query, path) = (
        parameters_in(ParameterIn::Query),
        parameters_in(ParameterIn::Path),
    );
    let body_types: Vec<String> = match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let json_body = body_types.iter().any(|t| t.contains("json"));
    let any_body = !body_types.is_empty();

    let mut answers: Vec<(&str, &str)> = Vec::new();
    if secured {
        answers.push((
            "401",
            "`unauthenticated`: no bearer token, or one that is unknown, expired or revoked",
        ));
        answers.push((
            "403",
            "`forbidden`: the wrong kind of account for this operation (a reader's token on \
             a staff operation or the reverse), or outside the staff member's role or library",
        ));
    }
    if query || path || any_body {
        answers.push((
            "400",
            "`malformed-request`: a parameter or the body is not well-formed (an unknown or \
             mistyped query parameter, a path id that is not a UUID, broken JSON)",
        ));
    }
    if path {
        answers.push((
            "404",
            "`not-found`: no such resource, or outside the caller's scope",
        ));
    }
    if any_body {
        answers.push((
            "413",
            "`payload-too-large`: the body is larger than the server accepts",
        ));
        answers.push((
            "415",
            "`malformed-request`: the body is not of the documented content type",
        ));
    }
    if json_body || query {
        answers.push((
            "422",
            "`validation`: a value is well-formed but not acceptable (see `errors`), or \
             `malformed-request`: unknown or missing fields in the JSON body",
        ));
    }
    answers.push((
        "500",
        "`internal`: a server fault; the cause is logged under the request id, never returned",
    ));
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description)));
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            jieyue_protocol::problem::CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
