"""The snippets a user pastes into a network or an advertiser's page ("Conversion tracking").

Shared by the CLI and the API so both show exactly the URLs ingestion accepts. Placeholders in
braces ({clickid}, {payout}, {txid}) stand for the network's own macros; ORDER_ID and AMOUNT
for values the advertiser's page fills in.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrackingTemplates:
    postback_conversion: str
    postback_transaction: str
    pixel_conversion: str
    pixel_transaction: str
    pixel_script: str


def tracking_templates(base_url: str, secret: str) -> TrackingTemplates:
    base = base_url.rstrip("/")
    postback = f"{base}/postback/{secret}"
    pixel = f"{base}/pixel/{secret}.gif"
    return TrackingTemplates(
        postback_conversion=f"{postback}?clickid={{clickid}}&sum={{payout}}&status={{status}}",
        postback_transaction=(
            f"{postback}?clickid={{clickid}}&type=transaction&txid={{txid}}&sum={{payout}}"
        ),
        pixel_conversion=_img(pixel),
        pixel_transaction=_img(f"{pixel}?type=transaction&amp;txid=ORDER_ID&amp;sum=AMOUNT"),
        pixel_script=(
            "<script>(function(){var q=new URLSearchParams({type:'transaction',"
            "txid:'ORDER_ID',sum:'AMOUNT'}),c=new URLSearchParams(location.search).get('clickid');"
            f"if(c)q.set('clickid',c);new Image(1,1).src='{pixel}?'+q}})();</script>"
        ),
    )


def _img(src: str) -> str:
    return f'<img src="{src}" width="1" height="1" alt="" style="display:none">'
