/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  Validators for what people send (validate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_VALIDATE_H
#define NABOOM_VALIDATE_H

/* naboom.max_text_length: longest free text a person may submit. */
extern int	naboom_max_text_length;

/* Refuse a WGS84 point out of range or not a number. */
extern void NaboomCheckPoint(double lat, double lon);

#endif							/* NABOOM_VALIDATE_H */
