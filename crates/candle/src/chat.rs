//! Chat prompt formats.

/// A chat prompt format, detected from a GGUF's `tokenizer.chat_template`.
///
/// Only the single-turn case is rendered: an optional system message and one user message,
/// ending where the model's reply starts. The rendered text never contains a BOS token;
/// prepend [`Model::bos_token`](crate::Model::bos_token) yourself when it is `Some`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatTemplate {
    /// ChatML (`<|im_start|>role\n…<|im_end|>\n`): SmolLM, Qwen.
    ChatMl,
    /// Gemma turns (`<start_of_turn>user\n…<end_of_turn>\n`); Gemma has no system role, so a
    /// system message is prepended to the user turn, separated by a blank line (as Gemma 3's
    /// own template does).
    Gemma,
}

impl ChatTemplate {
    /// Recognizes a Jinja chat template by the turn markers it emits.
    pub fn detect(template: &str) -> Option<ChatTemplate> {
        if template.contains("<|im_start|>") {
            Some(ChatTemplate::ChatMl)
        } else if template.contains("<start_of_turn>") {
            Some(ChatTemplate::Gemma)
        } else {
            None
        }
    }

    /// The special token that ends a turn (a generation stop token).
    pub fn end_of_turn(self) -> &'static str {
        match self {
            ChatTemplate::ChatMl => "<|im_end|>",
            ChatTemplate::Gemma => "<end_of_turn>",
        }
    }

    /// The special token that starts a turn.
    pub fn start_of_turn(self) -> &'static str {
        match self {
            ChatTemplate::ChatMl => "<|im_start|>",
            ChatTemplate::Gemma => "<start_of_turn>",
        }
    }

    /// Renders one exchange, ending ready for the assistant (model) turn.
    ///
    /// ```
    /// use rein_candle::ChatTemplate;
    /// assert_eq!(
    ///     ChatTemplate::ChatMl.render(Some("Be brief."), "Hi"),
    ///     "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    /// );
    /// assert_eq!(
    ///     ChatTemplate::Gemma.render(None, "Hi"),
    ///     "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    /// );
    /// ```
    pub fn render(self, system: Option<&str>, user: &str) -> String {
        match self {
            ChatTemplate::ChatMl => {
                let mut s = String::new();
                if let Some(sys) = system {
                    s.push_str("<|im_start|>system\n");
                    s.push_str(sys);
                    s.push_str("<|im_end|>\n");
                }
                s.push_str("<|im_start|>user\n");
                s.push_str(user);
                s.push_str("<|im_end|>\n<|im_start|>assistant\n");
                s
            }
            ChatTemplate::Gemma => {
                let mut s = String::from("<start_of_turn>user\n");
                if let Some(sys) = system {
                    s.push_str(sys);
                    s.push_str("\n\n");
                }
                s.push_str(user);
                s.push_str("<end_of_turn>\n<start_of_turn>model\n");
                s
            }
        }
    }
}
