/*-------------------------------------------------------------------------
 *
 * page.h
 *	  Pages of the lists (page.c): the page-size setting.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_PAGE_H
#define NABOOM_PAGE_H

/* Settings (superuser), registered by naboom.c. */
extern int	naboom_max_page_size;
extern int	naboom_default_page_size;

extern void NaboomDefinePageSettings(void);

#endif							/* NABOOM_PAGE_H */
