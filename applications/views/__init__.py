"""Case pages (Chinese, server-rendered), one module per audience and URL prefix: citizen, window,
department, hall, supervision, and the bundle pages; what they share is in common. URL lists: applications.urls.

Views only translate HTTP: cases come from permissions.access_application, every write goes through a
service; a service's ValidationError is shown next to its field, a refusal as a message, and nothing changes.
"""
