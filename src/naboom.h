/*-------------------------------------------------------------------------
 *
 * naboom.h
 *	  What every C file of naboom shares: keyed errors.
 *
 * Every error a user can cause carries a stable key (naboom.<something>) at
 * the start of its DETAIL, so that a client behind an HTTP gateway can act
 * on it without parsing English.  Refusals that matter are audited before
 * they are raised (audit_refusal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_H
#define NABOOM_H

#include "utils/elog.h"

#include "audit_refusal.h"

/* PostgREST maps SQLSTATE PTxyz to HTTP status xyz. */
#define ERRCODE_NABOOM_NOT_FOUND	MAKE_SQLSTATE('P','T','4','0','4')
#define ERRCODE_NABOOM_CONFLICT		MAKE_SQLSTATE('P','T','4','0','9')

/*
 * NaboomErrorHint(sqlstate, key, (message...), (hint...), detail_fmt, ...)
 *
 * Raise an ERROR whose DETAIL starts with "<key>: " (key must be a string
 * literal), with a message and a hint given as parenthesised format lists.
 */
#define NaboomErrorHint(code, key, msg_args, hint_args, detail_fmt, ...) \
	do { \
	NaboomAuditRefusal(code, key, psprintf msg_args); \
	ereport(ERROR, \
			(errcode(code), \
			 errmsg msg_args, \
			 errdetail(key ": " detail_fmt, ##__VA_ARGS__), \
			 errhint hint_args)); \
	} while (0)

#endif							/* NABOOM_H */
