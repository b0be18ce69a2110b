"""`artstyle studio`: a local web page to pick a learned style's images and paint photos with it.

`jobs.Studio` holds the work (style batches, a queue painted by one background worker, the
gallery on disk); `server.create_app` is the thin FastAPI layer the page talks to. Needs the
`studio` extra: `pip install 'artstyle[studio]'`.
"""
