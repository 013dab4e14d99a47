"""The /completion parameters llama-server documents."""

from __future__ import annotations

# /completion fields that llama-server documents; anything passed to stream_completion goes
# through as is (the server ignores what it does not know), this list is for documentation and
# for tools that want to validate names.
COMPLETION_PARAMS = frozenset(
    """temperature dynatemp_range dynatemp_exponent top_k top_p min_p n_predict n_indent n_keep
    stop typical_p repeat_penalty repeat_last_n presence_penalty frequency_penalty dry_multiplier
    dry_base dry_allowed_length dry_penalty_last_n dry_sequence_breakers xtc_probability
    xtc_threshold mirostat mirostat_tau mirostat_eta grammar json_schema seed ignore_eos
    logit_bias n_probs min_keep t_max_predict_ms id_slot cache_prompt return_tokens samplers
    timings_per_token post_sampling_probs response_fields lora return_progress image_data
    top_n_sigma n_cmpl chat_format reasoning_format n_discard n_cache_reuse sse_ping_interval
    adaptive_target adaptive_decay backend_sampling reasoning_budget_tokens reasoning_budget_start_tag
    reasoning_budget_end_tags reasoning_budget_message generation_prompt preserved_tokens""".split()
)
