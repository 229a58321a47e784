/*-------------------------------------------------------------------------
 *
 * attachment.h
 *	  Evidence attached to incidents (attachment.c): its settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_ATTACHMENT_H
#define NABOOM_ATTACHMENT_H

/* Settings (superuser), registered by naboom.c. */
extern char *naboom_attachment_types;
extern int	naboom_attachment_max_size;
extern int	naboom_attachment_max_video_size;
extern int	naboom_attachments_per_incident;

extern void NaboomDefineAttachmentSettings(void);
extern bool NaboomAttachmentsInstalled(void);

#endif							/* NABOOM_ATTACHMENT_H */
