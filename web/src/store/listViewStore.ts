/**
 * The list page's filter and sort, kept outside the page so they survive a visit to a
 * detail page and back.
 */
import { create } from "zustand";
import { DEFAULT_LIST_VIEW, type ListView, type SortKey } from "../lib/serverView";

export interface ListViewState extends ListView {
  setStatusFilter(statusFilter: ListView["statusFilter"]): void;
  setQuery(query: string): void;
  /** Sort by `key`; choosing the current key again flips the direction. */
  toggleSort(key: SortKey): void;
  setSortKey(key: SortKey): void;
  setSortDirection(direction: ListView["sortDirection"]): void;
}

export const useListViewStore = create<ListViewState>()((set) => ({
  ...DEFAULT_LIST_VIEW,
  setStatusFilter: (statusFilter) => set({ statusFilter }),
  setQuery: (query) => set({ query }),
  toggleSort: (key) =>
    set((state) =>
      state.sortKey === key
        ? { sortDirection: state.sortDirection === "asc" ? "desc" : "asc" }
        : { sortKey: key, sortDirection: "asc" },
    ),
  setSortKey: (sortKey) => set({ sortKey }),
  setSortDirection: (sortDirection) => set({ sortDirection }),
}));
