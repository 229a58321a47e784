// naboomEvents: naboom's event stream as a GraphQL subscription, through
// @graphile/pg-pubsub (PostGraphile 4 with `subscriptions: true` and the
// PgPubsub server plugin; see server.js and README "PostGraphile").
//
//   subscription { naboomEvents { event { id topic community reference at payload } } }
//
// naboom's background writer NOTIFYs every committed event on the channel
// naboom_events with {"id", "topic", "community", "reference"}.  That
// payload names the incidents of every community, private ones too, so it
// never reaches a subscriber as it is.  For each notification and each
// subscriber, the filter asks naboom itself, as that subscriber (the role
// and JWT claims of the WebSocket's token, in a transaction of its own):
//
//   SELECT ... FROM naboom_api.events_since(id - 1, 1)
//
// and delivers the event only when that returns the event with this id:
// events_since applies the stream's visibility (the service sees every
// event, a member the events of their communities, the events of a private
// incident only its reporter and the community's responders and
// moderators).  An event the subscriber may not see is not delivered at
// all, so not even its existence or timing leaks.  The event delivered is
// the row events_since returned (the same fields as eventsSinceList), never
// the notification.  Subscribing needs a person or the service: an
// anonymous subscription is refused as events_since refuses it.
//
// A consumer subscribes first, then catches up with eventsSinceList(afterId:
// the last id it has) until it is caught up; an event may then come both
// ways (keep the highest id seen).
'use strict';

const { makeExtendSchemaPlugin, gql, embed } = require('graphile-utils');

const CHANNEL = 'naboom_events';

const EVENT_SQL = `SELECT e.id::text AS id, e.topic, e.community, e.reference,
       to_json(e.at) #>> '{}' AS at, e.payload
  FROM naboom_api.events_since($1::bigint, 1) e
 WHERE e.id = $2::bigint`;

// The events each subscription's filter let through, until its resolver
// takes them: subscription context -> Map(id -> row).  A notification's
// payload object is shared by every subscriber, so nothing is stored on it.
const passed = new WeakMap();

function streamId(payload) {
  const id = payload && payload.id;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

async function visibleEvent(id, context) {
  const { rows } = await context.pgClient.query(EVENT_SQL, [String(id - 1), String(id)]);
  return rows.length === 1 ? rows[0] : null;
}

// pg-pubsub: the channel to LISTEN on, once per subscription.  It first asks
// naboom whether this caller may read the stream at all, so that a refusal
// (28000 naboom.missing_identity for the public) is the subscription's error.
async function topic(_args, context) {
  await context.pgClient.query('SELECT count(*) FROM naboom_api.events_since(9223372036854775806, 1)');
  return CHANNEL;
}

async function filter(payload, _args, context) {
  const id = streamId(payload);
  if (id === null) return false;
  let row;
  try {
    row = await visibleEvent(id, context);
  } catch (e) {
    // e.g. the member left the community meanwhile, or the database is
    // restarting: this event is not delivered, the subscription goes on
    console.error(`naboomEvents: event ${id} not delivered: ${e.message}`);
    return false;
  }
  if (!row) return false;
  let m = passed.get(context);
  if (!m) passed.set(context, (m = new Map()));
  m.set(id, row);
  return true;
}

module.exports = makeExtendSchemaPlugin(() => ({
  typeDefs: gql`
    """
    One event of naboom's stream, as naboom_api.events_since shows it to the subscriber.
    """
    type NaboomEvent {
      "The stream position: pass the last one seen to eventsSinceList(afterId) to catch up."
      id: BigInt!
      topic: String!
      community: String!
      reference: String
      at: Datetime!
      "Statuses and levels, never people or text: fetch the incident with getIncident for more."
      payload: JSON
    }

    type NaboomEventsPayload {
      event: NaboomEvent!
    }

    extend type Subscription {
      """
      naboom's events as they are published, only those the subscriber may see (events_since's rule), each once per subscription.
      """
      naboomEvents: NaboomEventsPayload
        @pgSubscription(topic: ${embed(topic)}, filter: ${embed(filter)})
    }
  `,
  resolvers: {
    Subscription: {
      naboomEvents(payload, _args, context) {
        const id = streamId(payload);
        const m = passed.get(context);
        const row = m && m.get(id);
        if (!row) return null; // only the filter lets events through
        m.delete(id);
        return { event: row };
      },
    },
  },
}));
