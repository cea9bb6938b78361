//! The one id check (`check::valid_id`), which the configuration's checks and the Worker's
//! requests (owner filters, rate-limit keys) share, as a table.

use handoff_core::check::valid_id;

#[test]
fn ids_are_a_lowercase_letter_then_up_to_63_of_a_z_0_9_dash_underscore() {
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    let table: [(&str, bool); 10] = [
        ("ana", true),
        ("emea-queue_2", true),
        ("a", true),
        (&long, true),
        (&too_long, false),
        ("", false),
        ("1ana", false),
        ("Ana", false),
        ("ana lopez", false),
        ("ana;drop", false),
    ];
    for (id, ok) in table {
        assert_eq!(valid_id(id), ok, "{id:?}");
    }
}
