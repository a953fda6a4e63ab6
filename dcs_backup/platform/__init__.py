"""The platform layer: configuration helpers, the FunctionGraph context, logs and redaction, deadline and
retries, the call loop, errors, text checks, endpoints and cold-start tricks. It knows no capability."""
