/*-------------------------------------------------------------------------
 *
 * retention_classes.h
 *	  The domain data classes of a retention run (retention_classes.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_CLASSES_H
#define NABOOM_RETENTION_CLASSES_H

#include "retention_engine.h"

extern void NaboomRetainEmergencyRecords(Run *r);
extern void NaboomRetainPersonalData(Run *r);
extern void NaboomRetainDeletedNotes(Run *r);

#endif							/* NABOOM_RETENTION_CLASSES_H */
