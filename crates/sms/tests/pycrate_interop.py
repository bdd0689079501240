"""pycrate side of telsec-sms interop tests (run by tests/interop_pycrate.rs).

decode: reads lines "<kind> <hex>" (kind = deliver | submit) on stdin and
        prints one JSON object per line with the fields pycrate decoded.
build:  prints one JSON object per line: a PDU pycrate encoded, with the
        values it was built from.
"""
import json
import sys
from binascii import hexlify, unhexlify

from pycrate_mobile.TS23040_SMS import SMS_DELIVER, SMS_SUBMIT


def udh_list(ud):
    out = []
    if ud['UDH'].get_trans():
        return out
    for ie in ud['UDH']['UDH']:
        t = ie['T'].get_val()
        out.append([t, ie['V'].get_val()])
    return out


def decode(kind, data):
    msg = SMS_DELIVER() if kind == 'deliver' else SMS_SUBMIT()
    msg.from_bytes(data)
    addr = msg['TP_OA'] if kind == 'deliver' else msg['TP_DA']
    ud = msg['TP_UD']
    dcs = msg['TP_DCS']
    charset = dcs['Charset'].get_val() if dcs['Group'].get_val() in (0, 1) else None
    try:
        text = ud['UD'].decode() if charset in (0, 2) else None
    except Exception as exc:  # report, do not hide
        text = 'DECODE-ERROR: %s' % exc
    res = {
        'kind': kind,
        'consumed_all': len(msg.to_bytes()) == len(data),
        'reencoded': hexlify(msg.to_bytes()).decode(),
        'mti': msg['TP_MTI'].get_val(),
        'udhi': msg['TP_UDHI'].get_val(),
        'addr_type': addr['Type'].get_val(),
        'addr_npi': addr['NumberingPlan'].get_val(),
        'addr_len': addr['Len'].get_val(),
        'addr': addr['Num'].decode(),
        'pid': msg['TP_PID'].to_bytes()[0],
        'dcs': msg['TP_DCS'].to_bytes()[0],
        'charset': charset,
        'udl': ud['UDL'].get_val(),
        'udh': udh_list(ud),
        'ud_hex': hexlify(ud['UD'].to_bytes()).decode() if charset == 1 else None,
        'text': text,
    }
    if kind == 'deliver':
        res['mms'] = msg['TP_MMS'].get_val()
        res['sri'] = msg['TP_SRI'].get_val()
        res['scts'] = hexlify(msg['TP_SCTS'].to_bytes()).decode()
    else:
        res['mr'] = msg['TP_MR'].get_val()
        res['vpf'] = msg['TP_VPF'].get_val()
        res['srr'] = msg['TP_SRR'].get_val()
        res['rd'] = msg['TP_RD'].get_val()
    return res


def build():
    d = SMS_DELIVER(val={
        # pycrate lists time stamp digits as stored: [high nibble, low nibble],
        # i.e. [units, tens] (TS 23.040 §9.2.3.11 swaps the semi-octets).
        'TP_MMS': 1, 'TP_UDHI': 1,
        'TP_OA': {'Type': 1, 'NumberingPlan': 1, 'Num': '33612345678'},
        'TP_DCS': {'Group': 0, 'Charset': 1},
        'TP_SCTS': [[6, 2], [1, 1], [3, 2], [6, 1], [0, 3], [0, 0], [8, 0, 0]],
        'TP_UD': {'UDH': {'UDH': [
            {'T': 8, 'V': {'MsgRef': 0x1234, 'MsgParts': 2, 'MsgNum': 1}},
            {'T': 5, 'V': {'Dest': 9200, 'Origin': 9201}}]},
            'UD': b'\x01\x02\x03\xff'}})
    print(json.dumps({'name': 'deliver-8bit-concat16-port16', 'hex': hexlify(d.to_bytes()).decode()}))
    s = SMS_SUBMIT(val={
        'TP_MR': 5, 'TP_VPF': 2, 'TP_VP': 167, 'TP_SRR': 1,
        'TP_DA': {'Type': 1, 'NumberingPlan': 1, 'Num': '4917612345'},
        'TP_UDHI': 1,
        'TP_UD': {'UDH': {'UDH': [{'T': 0, 'V': {'MsgRef': 9, 'MsgParts': 3, 'MsgNum': 2}}]},
                  'UD': 'Hello \u20acuro [x] {y}'}})
    print(json.dumps({'name': 'submit-7bit-concat8-escapes', 'hex': hexlify(s.to_bytes()).decode()}))
    t = SMS_DELIVER(val={
        'TP_MMS': 0,
        'TP_OA': {'Type': 2, 'NumberingPlan': 1, 'Num': '0612'},
        'TP_DCS': {'Group': 0, 'Charset': 0},
        'TP_SCTS': [[6, 2], [1, 1], [3, 2], [9, 0], [5, 0], [9, 5], [0, 1, 2]],
        'TP_UD': {'UD': 'x' * 160}})
    print(json.dumps({'name': 'deliver-7bit-160', 'hex': hexlify(t.to_bytes()).decode()}))


def main():
    if sys.argv[1] == 'decode':
        for line in sys.stdin:
            line = line.strip()
            if line:
                kind, h = line.split()
                print(json.dumps(decode(kind, unhexlify(h))))
    else:
        build()


main()
