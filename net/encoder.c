#include "net/encoder.h"
#include "net/rfb-proto.h"

struct rfb_encoder *rfb_encoder_new(int32_t encoding)
{
	switch (encoding) {
	case RFB_ENC_RAW:
		return rfb_enc_raw_new();
	case RFB_ENC_RRE:
		return rfb_enc_rre_new();
	case RFB_ENC_HEXTILE:
		return rfb_enc_hextile_new();
	case RFB_ENC_ZLIB:
		return rfb_enc_zlib_new();
	case RFB_ENC_TRLE:
		return rfb_enc_trle_new();
	case RFB_ENC_ZRLE:
		return rfb_enc_zrle_new();
	case RFB_ENC_TIGHT:
		return rfb_enc_tight_new();
	default:
		return NULL;
	}
}
