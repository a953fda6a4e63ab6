"""The ids and keys of dcs_emulator/seed.json, for code that names a seeded instance."""

HA_ID = "5f2b9c1e-0a41-4d8e-9b0f-3c6a7e1d2b01"
CLUSTER_ID = "8d4e7a10-6c25-4f3b-a1e9-0b7c2d5f9e02"
SINGLE_ID = "c3a1f5d2-9e87-4b60-8f14-2d6e0a7b3c03"
FROZEN_ID = "e7b2d4c6-1f38-4a95-b0c2-5e9d8a6f4d04"
ACCESS_KEY = "DEMOACCESSKEY0000001"
SECRET_KEY = "demo-secret-key-for-the-local-emulator-only"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
