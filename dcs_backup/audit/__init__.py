"""The RPO audit: the pure verdicts over backup records, and the read-only auditor per target."""
