//! Tool choices that cannot be compiled end in errors naming the tool.

use rein_program::tools::{Tool, ToolCall, ToolChoice};
use serde_json::json;

#[test]
fn tool_choice_errors_name_the_tool() {
    let e = ToolChoice::new(Vec::new()).grammar().unwrap_err();
    assert_eq!(
        e.to_string(),
        "a tool choice needs at least one tool (or allow_answer)"
    );
    assert!(ToolChoice::new(Vec::new())
        .allow_answer(true)
        .grammar()
        .is_ok());
    let t = Tool::new("add", json!({"type": "object"}));
    let e = ToolChoice::new(vec![t.clone(), t]).grammar().unwrap_err();
    assert_eq!(e.to_string(), "tool `add` is listed twice");
    let bad = Tool::new("f", json!({"type": "object", "required": "x"}));
    let e = ToolChoice::new(vec![bad]).program("").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the parameters schema of tool `f`: schema error at \"#\" (keyword `required`): \
         must be an array of strings"
    );
    let e = ToolCall::from_value(&json!({"name": 3})).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("captures do not fit the requested type: invalid type: integer `3`"),
        "{e}"
    );
}
