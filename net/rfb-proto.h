/* RFB (RFC 6143) numbers used by vfbd: message types, security types and
 * encodings. */
#ifndef VFBD_NET_RFB_PROTO_H
#define VFBD_NET_RFB_PROTO_H

/* Security types. */
#define RFB_SEC_INVALID	 0
#define RFB_SEC_NONE	 1
#define RFB_SEC_VNC_AUTH 2

/* Client-to-server message types. */
#define RFB_C2S_SET_PIXEL_FORMAT	  0
#define RFB_C2S_SET_ENCODINGS		  2
#define RFB_C2S_UPDATE_REQUEST		  3
#define RFB_C2S_KEY_EVENT		  4
#define RFB_C2S_POINTER_EVENT		  5
#define RFB_C2S_CLIENT_CUT_TEXT		  6
#define RFB_C2S_ENABLE_CONTINUOUS_UPDATES 150
#define RFB_C2S_CLIENT_FENCE		  248
#define RFB_C2S_SET_DESKTOP_SIZE	  251
#define RFB_C2S_QEMU			  255
#define RFB_QEMU_EXTENDED_KEY_EVENT	  0

/* Server-to-client message types. */
#define RFB_S2C_FRAMEBUFFER_UPDATE	  0
#define RFB_S2C_SET_COLOUR_MAP		  1
#define RFB_S2C_BELL			  2
#define RFB_S2C_SERVER_CUT_TEXT		  3
#define RFB_S2C_END_OF_CONTINUOUS_UPDATES 150
#define RFB_S2C_SERVER_FENCE		  248

/* Encodings and pseudo-encodings. */
#define RFB_ENC_RAW			   0
#define RFB_ENC_COPYRECT		   1
#define RFB_ENC_RRE			   2
#define RFB_ENC_HEXTILE			   5
#define RFB_ENC_TIGHT			   7
#define RFB_ENC_ZLIB			   6
#define RFB_ENC_TRLE			   15
#define RFB_ENC_ZRLE			   16
#define RFB_ENC_DESKTOP_SIZE		   (-223)
#define RFB_ENC_LAST_RECT		   (-224)
#define RFB_ENC_CURSOR			   (-239)
#define RFB_ENC_X_CURSOR		   (-240)
#define RFB_ENC_QEMU_POINTER_MOTION_CHANGE (-257)
#define RFB_ENC_QEMU_EXTENDED_KEY_EVENT	   (-258)
#define RFB_ENC_EXTENDED_DESKTOP_SIZE	   (-308)
#define RFB_ENC_FENCE			   (-312)
#define RFB_ENC_CONTINUOUS_UPDATES	   (-313)
#define RFB_ENC_COMPRESS_LEVEL_0	   (-256) /* .. -247 for level 9 */
#define RFB_ENC_QUALITY_LEVEL_0		   (-32)  /* .. -23 for level 9 */

/* VNC authentication. */
#define RFB_VNC_CHALLENGE_LEN 16

/* The ProtocolVersion message is always 12 bytes: "RFB xxx.yyy\n". */
#define RFB_VERSION_LEN 12

#endif
