"""Pinterest's own Python SDK (`pinterest-api-sdk`), unmodified, calling Pinterest through
pinline's `/pinterest/v5` mount with a pinline API key as its access token.

The environment names pinline (`PINTEREST_API_URI`, read when the SDK is imported), the key
(`PINTEREST_ACCESS_TOKEN`), the account (`PINLINE_ACCOUNT`) and a board (`PINLINE_BOARD`).
Prints one JSON line: the boards it listed and the pin it created.
"""

import json
import os

from pinterest.client import PinterestSDKClient
from pinterest.organic.boards import Board
from pinterest.organic.pins import Pin

client = PinterestSDKClient(
    access_token=os.environ["PINTEREST_ACCESS_TOKEN"],
    header_name="X-Pinline-Account",
    header_value=os.environ["PINLINE_ACCOUNT"],
)
PinterestSDKClient.set_default_client(client)

boards, _bookmark = Board.get_all(client=client)
pin = Pin.create(
    board_id=os.environ["PINLINE_BOARD"],
    media_source={"source_type": "image_url", "url": "https://example.invalid/sdk.jpg"},
    title="Made by the SDK",
    client=client,
)
print(json.dumps({"boards": [board.id for board in boards], "pin": pin.id}))
