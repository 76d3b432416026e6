#include "net/encoder.h"
#include "net/rfb-proto.h"

struct rfb_encoder *rfb_encoder_new(int32_t encoding)
{
	switch (encoding) {
	case RFB_ENC_RAW:
		return rfb_enc_raw_new();
	default:
		return NULL;
	}
}
