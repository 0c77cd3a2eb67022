/* blf: device and extension states and the dialog-info and PIDF bodies that carry them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blf.h"
#include "call.h"
#include "peer.h"

enum blf_devstate blf_device_state(bool known, bool reachable, unsigned busy)
{
	bool ringing = busy & CALL_PEER_RINGING, inuse = busy & CALL_PEER_INUSE;

	if (!known)
		return BLF_DEV_INVALID;
	if (ringing && inuse)
		return BLF_DEV_RINGINUSE;
	if (ringing)
		return BLF_DEV_RINGING;
	if (busy & CALL_PEER_ONHOLD)
		return BLF_DEV_ONHOLD;
	if (inuse)
		return BLF_DEV_INUSE;
	/* A phone in a call counts as in use even while its binding is being renewed; without a
	 * call, one that is not registered is off. */
	return reachable ? BLF_DEV_NOT_INUSE : BLF_DEV_UNAVAILABLE;
}

static const char *const devstate_names[] = {
    [BLF_DEV_UNKNOWN] = "UNKNOWN", [BLF_DEV_NOT_INUSE] = "NOT_INUSE",
    [BLF_DEV_INUSE] = "INUSE",	   [BLF_DEV_BUSY] = "BUSY",
    [BLF_DEV_INVALID] = "INVALID", [BLF_DEV_UNAVAILABLE] = "UNAVAILABLE",
    [BLF_DEV_RINGING] = "RINGING", [BLF_DEV_RINGINUSE] = "RINGINUSE",
    [BLF_DEV_ONHOLD] = "ONHOLD",
};

const char *blf_devstate_name(enum blf_devstate st)
{
	return (size_t)st < sizeof(devstate_names) / sizeof(devstate_names[0]) ? devstate_names[st]
									       : "UNKNOWN";
}

int blf_devstate_parse(const char *s, enum blf_devstate *st)
{
	for (size_t i = 0; i < sizeof(devstate_names) / sizeof(devstate_names[0]); i++) {
		if (!strcasecmp(s, devstate_names[i])) {
			*st = (enum blf_devstate)i;
			return 0;
		}
	}
	return EINVAL;
}

unsigned blf_aggregate(const enum blf_devstate *devs, size_t n)
{
	bool ringing = false, inuse = false, busy = false, held = false, all_unavail = true;

	for (size_t i = 0; i < n; i++) {
		switch (devs[i]) {
		case BLF_DEV_INVALID:
		case BLF_DEV_UNAVAILABLE:
			continue; /* all_unavail stays as it is */
		case BLF_DEV_RINGINUSE:
			ringing = inuse = true;
			break;
		case BLF_DEV_RINGING:
			ringing = true;
			break;
		case BLF_DEV_INUSE:
			inuse = true;
			break;
		case BLF_DEV_BUSY:
			busy = true;
			break;
		case BLF_DEV_ONHOLD:
			held = true;
			break;
		case BLF_DEV_UNKNOWN:
		case BLF_DEV_NOT_INUSE:
			break;
		}
		all_unavail = false;
	}
	if (ringing && inuse)
		return BLF_EXT_INUSE | BLF_EXT_RINGING;
	if (ringing)
		return BLF_EXT_RINGING;
	if (busy)
		return BLF_EXT_BUSY;
	if (inuse)
		return BLF_EXT_INUSE;
	if (held)
		return BLF_EXT_ONHOLD;
	if (all_unavail)
		return BLF_EXT_UNAVAILABLE;
	return BLF_EXT_NOT_INUSE;
}

unsigned blf_notified_state(unsigned ext, enum peer_notifyringing ringing, bool hold)
{
	if ((ext & BLF_EXT_ONHOLD) && !hold)
		ext = (ext & ~(unsigned)BLF_EXT_ONHOLD) | BLF_EXT_INUSE;
	if ((ext & BLF_EXT_RINGING) &&
	    (ringing == PEER_NOTIFYRINGING_NO ||
	     (ringing == PEER_NOTIFYRINGING_NOTINUSE && (ext & BLF_EXT_INUSE))))
		ext &= ~(unsigned)BLF_EXT_RINGING;
	return ext;
}

const char *blf_extstate_name(unsigned ext)
{
	switch (ext) {
	case BLF_EXT_NOT_INUSE:
		return "Idle";
	case BLF_EXT_INUSE:
		return "InUse";
	case BLF_EXT_BUSY:
		return "Busy";
	case BLF_EXT_UNAVAILABLE:
		return "Unavailable";
	case BLF_EXT_RINGING:
		return "Ringing";
	case BLF_EXT_INUSE | BLF_EXT_RINGING:
		return "InUse&Ringing";
	case BLF_EXT_ONHOLD:
		return "Hold";
	case BLF_EXT_INUSE | BLF_EXT_ONHOLD:
		return "InUse&Hold";
	default:
		return "Unknown";
	}
}

const char *blf_dialog_state(unsigned ext)
{
	if (ext & BLF_EXT_RINGING)
		return (ext & BLF_EXT_INUSE) ? "confirmed" : "early";
	if (ext & (BLF_EXT_INUSE | BLF_EXT_BUSY | BLF_EXT_ONHOLD))
		return "confirmed";
	return "terminated";
}

int blf_xml_escape(struct mbuf *mb, const char *s)
{
	int err = 0;

	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			err |= mbuf_write_str(mb, "&amp;");
			break;
		case '<':
			err |= mbuf_write_str(mb, "&lt;");
			break;
		case '>':
			err |= mbuf_write_str(mb, "&gt;");
			break;
		case '"':
			err |= mbuf_write_str(mb, "&quot;");
			break;
		case '\'':
			err |= mbuf_write_str(mb, "&apos;");
			break;
		default:
			/* Control characters have no place in XML 1.0: dropped. */
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				err |= mbuf_write(mb, s, 1);
		}
	}
	return err ? ENOMEM : 0;
}

int blf_dialog_body(struct mbuf *mb, const char *entity, const char *exten, uint32_t version,
		    unsigned ext)
{
	return blf_dialog_body_cid(mb, entity, exten, version, ext, NULL);
}

/* "sip:USER@HOST" for user and the host of entity (its part after '@', or all of it). */
static int sip_uri(struct mbuf *mb, const char *user, const char *entity)
{
	const char *at = strchr(entity, '@');
	const char *host = at ? at + 1 : (strncmp(entity, "sip:", 4) ? entity : entity + 4);
	int err = 0;

	err |= mbuf_write_str(mb, "sip:");
	err |= blf_xml_escape(mb, user);
	err |= mbuf_write_str(mb, "@");
	err |= blf_xml_escape(mb, host);
	return err;
}

int blf_dialog_body_cid(struct mbuf *mb, const char *entity, const char *exten, uint32_t version,
			unsigned ext, const struct blf_ringing *r)
{
	const char *st = blf_dialog_state(ext);
	bool early = !strcmp(st, "early");
	int err = 0;

	if (!early || (r && !r->call_id))
		r = NULL;
	err |= mbuf_write_str(
	    mb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"");
	err |= mbuf_printf(mb, "%u\" state=\"full\" entity=\"", version);
	err |= blf_xml_escape(mb, entity);
	err |= mbuf_write_str(mb, "\">\r\n<dialog id=\"");
	err |= blf_xml_escape(mb, exten);
	err |= mbuf_write_str(mb, "\"");
	if (r) {
		err |= mbuf_write_str(mb, " call-id=\"");
		err |= blf_xml_escape(mb, r->call_id);
		err |= mbuf_write_str(mb, "\" local-tag=\"");
		err |= blf_xml_escape(mb, r->local_tag ? r->local_tag : "");
		err |= mbuf_write_str(mb, "\" remote-tag=\"");
		err |= blf_xml_escape(mb, r->remote_tag ? r->remote_tag : "");
		err |= mbuf_write_str(mb, "\"");
	}
	if (early)
		err |= mbuf_write_str(mb, " direction=\"recipient\"");
	err |= mbuf_printf(mb, ">\r\n<state>%s</state>\r\n", st);
	if (r) {
		const char *num = r->caller_num && *r->caller_num ? r->caller_num : "anonymous";

		/* RFC 4235's order: state, local, remote. */
		err |= mbuf_write_str(mb, "<local>\r\n<identity>");
		err |= sip_uri(mb, exten, entity);
		err |= mbuf_write_str(mb, "</identity>\r\n<target uri=\"");
		err |= sip_uri(mb, exten, entity);
		err |= mbuf_write_str(mb, "\"/>\r\n</local>\r\n<remote>\r\n<identity");
		if (r->caller_name && *r->caller_name) {
			err |= mbuf_write_str(mb, " display=\"");
			err |= blf_xml_escape(mb, r->caller_name);
			err |= mbuf_write_str(mb, "\"");
		}
		err |= mbuf_write_str(mb, ">");
		err |= sip_uri(mb, num, entity);
		err |= mbuf_write_str(mb, "</identity>\r\n<target uri=\"");
		err |= sip_uri(mb, num, entity);
		err |= mbuf_write_str(mb, "\"/>\r\n</remote>\r\n");
	}
	err |= mbuf_write_str(mb, "</dialog>\r\n</dialog-info>\r\n");
	return err ? ENOMEM : 0;
}

int blf_pidf_body(struct mbuf *mb, const char *entity, const char *exten, unsigned ext)
{
	const char *note = "Ready";
	bool busy = false;
	int err = 0;

	if (ext & BLF_EXT_RINGING)
		note = "Ringing", busy = true;
	else if (ext & (BLF_EXT_INUSE | BLF_EXT_BUSY))
		note = "On the phone", busy = true;
	else if (ext & BLF_EXT_ONHOLD)
		note = "On hold", busy = true;
	else if (ext & BLF_EXT_UNAVAILABLE)
		note = "Unavailable";
	err |= mbuf_write_str(mb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
				  "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
				  "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" "
				  "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"");
	err |= blf_xml_escape(mb, entity);
	err |= mbuf_write_str(mb, "\">\r\n<tuple id=\"");
	err |= blf_xml_escape(mb, exten);
	err |=
	    mbuf_printf(mb, "\">\r\n<status><basic>%s</basic></status>\r\n<contact priority=\"1\">",
			(ext & BLF_EXT_UNAVAILABLE) ? "closed" : "open");
	err |= blf_xml_escape(mb, entity);
	err |= mbuf_printf(mb, "</contact>\r\n<note>%s</note>\r\n</tuple>\r\n", note);
	if (busy)
		err |=
		    mbuf_write_str(mb, "<dm:person id=\"p1\"><rpid:activities><rpid:on-the-phone/>"
				       "</rpid:activities></dm:person>\r\n");
	err |= mbuf_printf(mb, "<note>%s</note>\r\n</presence>\r\n", note);
	return err ? ENOMEM : 0;
}
