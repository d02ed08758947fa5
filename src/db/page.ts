// Keyset pagination shared by the list queries: a page starts below the item at this position.

/** The creation time and id of the last item of the previous page. */
export type PagePosition = { createdAt: string; id: string };
