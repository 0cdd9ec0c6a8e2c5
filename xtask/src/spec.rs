//! Derives from the contract the variant that progenitor is given.
//!
//! The contract documents JSON error bodies, plain text (429), HTML and empty bodies (gateways),
//! each on its status. progenitor decodes a documented JSON error eagerly and, when that fails,
//! drops the status and headers, so a 429's `Retry-After` would be lost; and it needs every error
//! answer of an operation to have one type. The variant given to progenitor therefore keeps every
//! error response but gives it one raw media type: the generated client hands over status,
//! headers and raw body, and the facade decodes the `ErrorBody` schema itself (typify still generates it,
//! like every component schema).

use openapiv3::{MediaType, OpenAPI, ReferenceOr, Response, StatusCode};

/// The contract as progenitor must see it: error responses carry raw bytes.
pub fn for_progenitor(spec: &OpenAPI) -> OpenAPI {
    let mut spec = spec.clone();
    let mut error_refs = Vec::new();
    for (_, path_item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(path_item) = path_item else {
            continue;
        };
        let operations = [
            &mut path_item.get,
            &mut path_item.put,
            &mut path_item.post,
            &mut path_item.delete,
            &mut path_item.options,
            &mut path_item.head,
            &mut path_item.patch,
            &mut path_item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            // Every error answer is raw bytes here, so an error status that a range of the same
            // operation covers (429 beside 4XX) says nothing more, and progenitor would match it
            // after the range, where it cannot be reached.
            let ranges: Vec<u16> = operation
                .responses
                .responses
                .keys()
                .filter_map(|status| match status {
                    StatusCode::Range(range) if *range >= 4 => Some(*range),
                    _ => None,
                })
                .collect();
            operation
                .responses
                .responses
                .retain(|status, _| match status {
                    StatusCode::Code(code) if *code >= 400 => !ranges.contains(&(code / 100)),
                    _ => true,
                });
            for (status, response) in operation.responses.responses.iter_mut() {
                if !is_error(status) {
                    continue;
                }
                match response {
                    ReferenceOr::Item(response) => strip_content(response),
                    ReferenceOr::Reference { reference } => error_refs.push(reference.clone()),
                }
            }
        }
    }
    if let Some(components) = spec.components.as_mut() {
        for reference in error_refs {
            let name = reference.trim_start_matches("#/components/responses/");
            if let Some(ReferenceOr::Item(response)) = components.responses.get_mut(name) {
                strip_content(response);
            }
        }
    }
    spec
}

fn is_error(status: &StatusCode) -> bool {
    match status {
        StatusCode::Code(code) => *code >= 400,
        StatusCode::Range(range) => *range >= 4,
    }
}

/// The answer's body as raw bytes, whatever the contract says it holds: progenitor hands a
/// non-JSON body over as a byte stream, one type for every error answer.
fn strip_content(response: &mut Response) {
    response.content.clear();
    response
        .content
        .insert("application/octet-stream".to_owned(), MediaType::default());
}
