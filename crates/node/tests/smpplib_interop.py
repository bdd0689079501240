"""An independent ESME (python smpplib 2.2.4) against telsec's SMS centre.

Driven by crates/node/tests/smsc_smpplib.rs; prints one line per step:
  BADPASS <status>            bind with a wrong password
  UNKNOWN_DEST <status>       submit_sm to an MSISDN with no modem
  SUBMITTED <message_id>      submit_sm to the registered modem
  DELIVER <esm_class> <source> <dest> <dcs> <hex short_message>
and exits 0 once it has seen a mobile-originated deliver_sm and a receipt.
"""
import binascii
import sys
import time

try:
    import smpplib.client
    import smpplib.consts
    import smpplib.exceptions
except ImportError:
    print("NO_SMPPLIB: pip install smpplib==2.2.4", flush=True)
    sys.exit(2)

host, port, msisdn, payload_hex = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def client():
    return smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)


bad = client()
bad.connect()
try:
    bad.bind_transceiver(system_id="homeagent", password="wrong")
    print("BADPASS 0", flush=True)
except smpplib.exceptions.PDUError as e:
    print("BADPASS %d" % e.args[1], flush=True)
bad.disconnect()

c = client()
c.connect()
c.bind_transceiver(system_id="homeagent", password="s3cret")

# An MSISDN with no virtual modem.
c.send_message(
    source_addr_ton=5, source_addr_npi=0, source_addr="telsecHA",
    dest_addr_ton=1, dest_addr_npi=1, destination_addr="491709999999",
    esm_class=0, data_coding=4, short_message=b"x",
)
resp = c.read_pdu()
print("UNKNOWN_DEST %d" % resp.status, flush=True)

c.send_message(
    source_addr_ton=5, source_addr_npi=0, source_addr="telsecHA",
    dest_addr_ton=1, dest_addr_npi=1, destination_addr=msisdn,
    esm_class=0x40, data_coding=4, protocol_id=0, registered_delivery=1,
    short_message=binascii.unhexlify(payload_hex),
)
resp = c.read_pdu()
if resp.command != "submit_sm_resp" or resp.status != 0:
    print("SUBMIT_FAILED %s %d" % (resp.command, resp.status), flush=True)
    sys.exit(1)
mid = resp.message_id.decode() if isinstance(resp.message_id, bytes) else resp.message_id
print("SUBMITTED %s" % mid, flush=True)

seen_mo = seen_receipt = False


def on_message(pdu):
    global seen_mo, seen_receipt
    text = pdu.short_message or b""
    src = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) else pdu.source_addr
    dst = pdu.destination_addr.decode() if isinstance(pdu.destination_addr, bytes) else pdu.destination_addr
    print("DELIVER %d %s %s %d %s" % (pdu.esm_class, src, dst, pdu.data_coding,
                                      binascii.hexlify(text).decode()), flush=True)
    if pdu.esm_class & 0x04:
        seen_receipt = True
    else:
        seen_mo = True
    return smpplib.consts.SMPP_ESME_ROK


c.set_message_received_handler(on_message)
deadline = time.time() + 30
while not (seen_mo and seen_receipt):
    if time.time() > deadline:
        print("TIMEOUT", flush=True)
        sys.exit(1)
    c.read_once()
c.unbind()
c.disconnect()
print("DONE", flush=True)
