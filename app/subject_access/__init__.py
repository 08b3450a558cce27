"""Subject access: a pupil's data exported for the pupil or a parent who asks (UK GDPR Art. 15)."""
