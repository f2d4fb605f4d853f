"""The case API (DESIGN §10), one module per resource: cases, materials, actions (transitions), bundles,
hall (tickets and appointments) and supervision (rectifications and statistics). URLs: applications.api_urls."""
